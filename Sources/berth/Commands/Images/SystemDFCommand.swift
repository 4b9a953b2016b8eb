import ArgumentParser
import RPC

/// `berth system df`: Docker's table (images for now; containers and volumes come with them).
struct SystemDFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df", abstract: "Show berth disk usage")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let u: BerthAPI.DiskUsage = try global.client().call(.systemDF, NoParams())
        var t = TableWriter()
        t.add(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"])
        t.add(["Images", "\(u.images)", "\(u.imagesActive)", HumanSize.decimal(u.imagesSize),
               HumanSize.decimal(u.imagesReclaimable) + SystemDFCommand.percent(u.imagesReclaimable, of: u.imagesSize)])
        t.add(["Containers", "\(u.containers)", "0", HumanSize.decimal(u.containersSize), HumanSize.decimal(u.containersSize)])
        t.add(["Local Volumes", "\(u.volumes)", "0", HumanSize.decimal(u.volumesSize), HumanSize.decimal(u.volumesSize)])
        Output.write(t.render())
    }

    static func percent(_ a: Int64, of b: Int64) -> String { b > 0 ? " (\(Int(Double(a) * 100 / Double(b)))%)" : "" }
}
