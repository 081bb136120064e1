import Foundation

/// `/health`, `/openapi.json` and `/openapi.yaml` (public).
enum DocumentRoutes {
    static let routes = [
        Route("GET", "/health", public: true) { call in
            let (status, body) = call.health()
            return .bytes(status: status, contentType: "application/json", Array(body.utf8))
        },
        Route("GET", "/openapi.json", public: true) { _ in
            .bytes(status: 200, contentType: "application/json", OpenAPIDocument.bytes)
        },
        // JSON is YAML 1.2: the same document serves both names.
        Route("GET", "/openapi.yaml", public: true) { _ in
            .bytes(status: 200, contentType: "application/yaml", OpenAPIDocument.bytes)
        },
    ]
}

/// The OpenAPI 3.1 document of every route the gateway serves (Resources/openapi.json).
enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { return Array(#"{"openapi":"3.1.0","info":{"title":"Execbox","version":"missing"},"paths":{}}"#.utf8) }
        return Array(data)
    }()
}
