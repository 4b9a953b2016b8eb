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
    ],
    targets: [
        .target(name: "CBerth"),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .target(name: "OCI", swiftSettings: lean),
        .target(name: "Runtime", dependencies: ["CBerth", "CSeccomp", "OCI"], swiftSettings: lean),
        .executableTarget(name: "berth-runtime", dependencies: ["Runtime", "OCI", "CBerth"], swiftSettings: lean,
                          linkerSettings: [.unsafeFlags(["-Xlinker", "--gc-sections"])]),
        .target(name: "RPC", dependencies: ["OCI"], swiftSettings: lean),
        .target(name: "Shim", dependencies: ["RPC", "OCI", "CBerth"], swiftSettings: lean),
        .executableTarget(name: "berth-shim", dependencies: ["Shim", "RPC", "OCI", "CBerth"], swiftSettings: lean,
                          linkerSettings: [.unsafeFlags(["-Xlinker", "--gc-sections"])]),
        .testTarget(name: "ShimTests", dependencies: ["RPC"]),
        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "RuntimeTests"),
        .testTarget(name: "CgroupV2Tests"),
        .testTarget(name: "DropInTests"),
    ]
)
