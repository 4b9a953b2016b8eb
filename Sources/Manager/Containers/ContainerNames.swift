import Glibc
import RPC

/// Container names: Docker's rule for what a user may choose, and the
/// adjective_surname names given to containers created without one.
enum ContainerNames {
    /// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, an optional leading slash dropped (Docker's rule).
    static func validate(_ raw: String) throws -> String {
        let name = raw.hasPrefix("/") ? String(raw.dropFirst()) : raw
        let b = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard b.count >= 2, alnum(b[0]), b.dropFirst().allSatisfy({ alnum($0) || $0 == 95 || $0 == 46 || $0 == 45 }) else {
            throw BerthError(.invalidArgument, "Invalid container name (\(raw)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        return name
    }

    static let adjectives = [
        "admiring", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "boring", "brave", "clever",
        "cool", "compassionate", "competent", "confident", "cranky", "dazzling", "determined", "distracted", "dreamy", "eager",
        "ecstatic", "elastic", "elated", "elegant", "epic", "fervent", "festive", "flamboyant", "focused", "friendly",
        "frosty", "gallant", "gifted", "goofy", "gracious", "happy", "hardcore", "heuristic", "hopeful", "hungry",
        "infallible", "inspiring", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical",
        "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
        "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical", "relaxed", "reverent", "romantic",
        "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "tender", "thirsty",
        "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful",
        "zealous", "zen",
    ]

    static let surnames = [
        "agnesi", "albattani", "allen", "archimedes", "bardeen", "bartik", "bell", "bhabha", "blackwell", "bohr",
        "booth", "borg", "bose", "brahmagupta", "brattain", "burnell", "carson", "cerf", "chandrasekhar", "clarke",
        "curie", "darwin", "dijkstra", "edison", "einstein", "elion", "engelbart", "euclid", "euler", "faraday",
        "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goldberg", "goodall", "hamilton", "hawking",
        "heisenberg", "hertz", "hodgkin", "hopper", "hypatia", "jackson", "jang", "johnson", "kalam", "kepler",
        "knuth", "kowalevski", "lalande", "lamarr", "lamport", "leakey", "lovelace", "lumiere", "mayer", "mccarthy",
        "mcclintock", "meitner", "mendel", "mirzakhani", "morse", "napier", "newton", "nobel", "noether", "pascal",
        "pasteur", "payne", "perlman", "pike", "poincare", "ramanujan", "ritchie", "rosalind", "sammet", "shannon",
        "shockley", "sinoussi", "stallman", "swanson", "tesla", "thompson", "torvalds", "turing", "varahamihira", "villani",
        "wescoff", "wiles", "williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
    ]

    /// A random adjective_surname not in `taken`; after many collisions a digit is appended, as Docker does.
    static func generate(taken: (String) -> Bool) -> String {
        for attempt in 0..<64 {
            var name = adjectives[Int.random(in: 0..<adjectives.count)] + "_" + surnames[Int.random(in: 0..<surnames.count)]
            if attempt >= 8 { name += String(Int.random(in: 0..<10)) }
            if !taken(name) { return name }
        }
        return "berth_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}
