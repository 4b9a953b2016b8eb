/// The one error of this module: a code a caller can switch on, and a one-line
/// message naming what is wrong, worded as Docker words it where Docker has the
/// case (`unable to find user app: no matching entries in passwd file`).
public struct ContainerSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Neither Entrypoint nor Cmd gives a program.
        case noCommand
        /// The user or group is unknown to the rootfs's /etc/passwd or /etc/group, or out of range.
        case unknownUser
        /// A capability name that no kernel knows.
        case invalidCapability
        /// A ulimit name that is not an rlimit, or soft > hard.
        case invalidUlimit
        /// `--device` names a path that is missing or not a device node, or bad permissions.
        case invalidDevice
        /// A seccomp profile that cannot be read or converted.
        case invalidSeccompProfile
        /// A `--security-opt` this module does not know.
        case invalidSecurityOpt
        /// `--tmpfs` with a bad destination.
        case invalidMount
        /// A namespace mode that is malformed or whose path the caller did not resolve.
        case invalidNamespaceMode
        /// Resource limits that contradict each other or the host.
        case invalidResources
        /// A file of the rootfs that cannot be read.
        case rootfs
        /// `--init` without a berth-init binary to mount.
        case initNotFound
        /// WorkingDir is not an absolute path, the hostname conflicts with the UTS mode, or the id is malformed.
        case invalidConfig
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
