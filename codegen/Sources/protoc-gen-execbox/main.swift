// protoc-gen-execbox: reads a CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse on stdout.
import ExecboxCodeGen
import ExecboxDescriptors
import ExecboxWire

#if canImport(Glibc)
    import Glibc
#endif

/// Reads all of standard input.
func readStandardInput() -> [UInt8] {
    var input: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        input.append(contentsOf: chunk[0..<n])
    }
    return input
}

func writeStandardOutput(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { exit(1) }
        offset += n
    }
}

let input = readStandardInput()
do {
    let request = try Google_Protobuf_Compiler_CodeGeneratorRequest(serializedBytes: input)
    writeStandardOutput(CodeGenerator.generate(request).serializedBytes())
} catch {
    var message = "protoc-gen-execbox: cannot decode the CodeGeneratorRequest: \(error)\n"
    message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}
