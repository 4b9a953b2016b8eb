// The shim under test, next to the runtime: TestSupport.swift is the runtime
// suites' own file (a symlink to Tests/RuntimeTests/TestSupport.swift, since
// test targets cannot share code through a module of their own).

import Foundation
import Glibc

extension TestEnv {
    /// Absolute path of the shim under test: $BERTH_SHIM, else <package root>/.build/debug/berth-shim.
    static let shimPath: String = {
        if let env = ProcessInfo.processInfo.environment["BERTH_SHIM"], !env.isEmpty { return env }
        return packageRoot + "/.build/debug/berth-shim"
    }()

    static func requireShim() throws {
        try requireRuntime()
        if access(shimPath, X_OK) != 0 {
            throw TestFailure("shim binary not found at \(shimPath): build it first (swift build --product berth-shim) or set BERTH_SHIM")
        }
    }
}
