// swift-tools-version:6.0
import PackageDescription

// berth-runtime must stay Foundation-free and single-threaded (see docs/runtime.md):
// the OCI and Runtime modules import only Glibc and CBerth.
// berth-runtime is judged by start-up time and peak memory (docs/runtime.md):
// its modules leave out the implicitly imported regex and concurrency modules,
// and unused code sections are dropped at link time.
let lean: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import",
                  "-Xfrontend", "-disable-implicit-concurrency-module-import"]),
]

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "berth-runtime", targets: ["berth-runtime"]),
        .executable(name: "berth-shim", targets: ["berth-shim"]),
        .executable(name: "berthd", targets: ["berthd"]),
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-init", targets: ["berth-init"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "CBerth"),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .target(name: "OCI", swiftSettings: lean),
        .target(name: "CgroupEvents", dependencies: ["CBerth"], swiftSettings: lean),
        .target(name: "Runtime", dependencies: ["CBerth", "CSeccomp", "OCI", "CgroupEvents"], swiftSettings: lean),
        .executableTarget(name: "berth-runtime", dependencies: ["Runtime", "OCI", "CBerth"], swiftSettings: lean,
                          linkerSettings: [.unsafeFlags(["-Xlinker", "--gc-sections"])]),
        .target(name: "RPC", dependencies: ["OCI"], swiftSettings: lean),
        .target(name: "Shim", dependencies: ["RPC", "OCI", "CBerth", "CgroupEvents"], swiftSettings: lean),
        .executableTarget(name: "berth-shim", dependencies: ["Shim", "RPC", "OCI", "CBerth"], swiftSettings: lean,
                          linkerSettings: [.unsafeFlags(["-Xlinker", "--gc-sections"])]),

        // berthd and the berth CLI (issue 5 onward): FoundationEssentials, threads
        // and Swift concurrency are allowed here; C libraries come from Debian.
        .target(name: "CDigest", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "CHTTP", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CArchive", linkerSettings: [.linkedLibrary("archive")]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Content", dependencies: ["OCI", "CDigest"]),
        .target(name: "Registry", dependencies: ["Content", "OCI", "CHTTP", "CDigest"]),
        .target(name: "Unpack", dependencies: ["Content", "Snapshots", "CArchive", "CDigest", "OCI"]),
        .target(name: "Snapshots", dependencies: ["CArchive", "Content", "Metadata", "OCI"]),
        .target(name: "Metadata", dependencies: ["CSQLite", "OCI"]),
        // Networks (docs/networking.md): CNI plugins, port publishing, the per-network DNS server.
        .target(name: "Network", dependencies: ["CBerth", "OCI"]),
        .target(name: "Manager", dependencies: ["Network", "ContainerSpec", "Content", "Registry", "Unpack", "Snapshots", "Metadata", "RPC", "OCI", "CBerth", "CArchive"]),
        // Image + `berth run` options → config.json (docs/container-spec.md); berth-init is the
        // static C init that `--init` bind-mounts into a container as PID 1.
        .target(name: "ContainerSpec", dependencies: ["OCI", "RPC", "Content", "CBerth"]),
        .executableTarget(name: "berth-init", linkerSettings: [.unsafeFlags(["-static-executable", "-nostartfiles"])]),
        .executableTarget(name: "berthd", dependencies: ["Manager", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "berth", dependencies: ["Manager", "RPC", "OCI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "ContainerSpecTests", dependencies: ["ContainerSpec", "RPC", "Content", "OCI", "CSeccomp"]),
        .testTarget(name: "ContentTests", dependencies: ["Content", "Registry", "OCI"]),
        .testTarget(name: "UnpackTests", dependencies: ["Unpack", "Snapshots", "Metadata", "Content", "CArchive", "OCI"]),
        .testTarget(name: "MetadataTests", dependencies: ["Metadata"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network"]),
        .testTarget(name: "ManagerTests", dependencies: ["Manager", "RPC", "OCI", "berth", "Content", "Registry"]),
        .testTarget(name: "ShimTests", dependencies: ["RPC"]),
        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "RuntimeTests"),
        .testTarget(name: "CgroupV2Tests"),
        .testTarget(name: "DropInTests"),
    ]
)
