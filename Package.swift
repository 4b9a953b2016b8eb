// swift-tools-version:6.0
import PackageDescription

// berth-runtime must stay Foundation-free and single-threaded (see docs/runtime.md):
// the OCI and Runtime modules import only Glibc and CBerth.
let package = Package(
    name: "Berth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "berth-runtime", targets: ["berth-runtime"]),
    ],
    targets: [
        .target(name: "CBerth"),
        .target(name: "OCI"),
        .target(name: "Runtime", dependencies: ["CBerth", "OCI"]),
        .executableTarget(name: "berth-runtime", dependencies: ["Runtime", "OCI", "CBerth"]),
        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "RuntimeTests", dependencies: ["OCI"]),
    ]
)
