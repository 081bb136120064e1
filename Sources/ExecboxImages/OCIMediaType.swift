/// The media types an image layout may use (OCI and the Docker v2 equivalents registries serve).
public enum OCIMediaType {
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerTarGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    /// Media types whose blob is an index of manifests.
    public static let indexes: Set<String> = [imageIndex, dockerManifestList]
    /// Media types whose blob is one image's manifest.
    public static let manifests: Set<String> = [imageManifest, dockerManifest]
    /// Layer media types `TarReader.compressed` reads (zstd is recognized and refused).
    public static let layers: Set<String> = [layerTar, layerTarGzip, dockerLayerTarGzip]
}
