import CBerth
import Glibc
import OCI

/// Keeps an idle berthd small: once no request has run for two seconds after
/// some work, freed heap memory goes back to the system (malloc_trim: a pull's
/// threads leave their arenas behind) and the text pages of berthd and its
/// libraries (libcurl, libcrypto, libarchive, SQLite) are dropped from its page
/// tables (cb_trim_mappings; text only, as berthd has many threads); the next
/// request maps again what it needs. One thread, waking once a second.
enum IdleTrimmer {
    static func start(_ server: APIServer) {
        _ = Thread.detach {
            var trimmedAt = -1
            var lastSeen = -1
            var quietSince = Clock.monotonicMillis()
            while true {
                sleep(1)
                let served = server.requestsServed
                if served != lastSeen || server.inFlight > 0 {
                    lastSeen = served
                    quietSince = Clock.monotonicMillis()
                    continue
                }
                if served != trimmedAt && Clock.monotonicMillis() - quietSince >= 2000 {
                    _ = cb_malloc_trim()
                    _ = cb_trim_mappings(0)
                    trimmedAt = served
                }
            }
        }
    }
}
