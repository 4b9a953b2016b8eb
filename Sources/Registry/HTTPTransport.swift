import CHTTP
import Content
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Blocking HTTP over libcurl easy handles. A transfer runs on the calling thread (callers
/// use `BlockingThread`); body bytes go from curl's buffer straight to the sink without a
/// copy into a Swift array. Handles are pooled so connections (and TLS sessions) are reused.
final class HTTPTransport: Sendable {
    struct Handle: @unchecked Sendable { let raw: UnsafeMutableRawPointer }

    /// Why a transfer did not produce a response.
    struct Failure: Error {
        var code: Int32
        var message: String
        /// An error thrown by the sink (a full disk, a cancelled consumer): not a network problem.
        var sinkError: (any Error)?
    }

    /// Called once, with the status and headers of the final response, before its first body byte.
    typealias Head = (Int, [(name: String, value: String)]) throws -> Void
    typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let pool = Mutex<[Handle]>([])
    let bufferSize: Int
    let userAgent: String

    private static let globalInit: Void = { _ = ch_global_init() }()

    init(bufferSize: Int, userAgent: String) {
        _ = HTTPTransport.globalInit
        self.bufferSize = bufferSize
        self.userAgent = userAgent
    }

    deinit {
        pool.withLock { handles in
            for h in handles { curl_easy_cleanup(h.raw) }
            handles.removeAll()
        }
    }

    /// State shared with curl's callbacks for one transfer.
    private final class Context {
        var status = 0
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        var bodyLimit = 16 << 20
        var head: Head?
        var headDone = false
        var sink: Sink?
        var failure: (any Error)?
        var upload: HTTPRequest.Body = .none
        var uploaded: Int64 = 0
        var onUpload: ((Int64) -> Void)?
        let cancelled: CancellationFlag?
        init(cancelled: CancellationFlag?) { self.cancelled = cancelled }

        func isSuccess() -> Bool { status >= 200 && status < 300 }

        func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
            if cancelled?.isSet == true { failure = RegistryError.cancelled; return false }
            if !headDone {
                headDone = true
                if isSuccess(), let head {
                    do { try head(status, headers) } catch { failure = error; return false }
                }
            }
            if isSuccess(), let sink {
                do { try sink(bytes) } catch { failure = error; return false }
                return true
            }
            if body.count + bytes.count > bodyLimit { failure = RegistryError.invalidResponse("response body larger than \(bodyLimit) bytes"); return false }
            body.append(contentsOf: bytes)
            return true
        }

        func header(_ line: UnsafeRawBufferPointer) {
            var end = line.count
            while end > 0 && (line[end - 1] == 10 || line[end - 1] == 13) { end -= 1 }
            let text = String(decoding: line[0..<end], as: UTF8.self)
            if text.hasPrefix("HTTP/") {
                // A new response (after a redirect or a 100 Continue): start over.
                headers.removeAll()
                let parts = text.split(separator: " ", maxSplits: 2)
                status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                return
            }
            guard let colon = text.firstIndex(of: ":") else { return }
            let name = text[..<colon].lowercased()
            var value = text[text.index(after: colon)...]
            while value.first == " " || value.first == "\t" { value.removeFirst() }
            headers.append((name, String(value)))
        }

        func read(into buffer: UnsafeMutableRawPointer, max: Int) -> Int {
            if cancelled?.isSet == true { failure = RegistryError.cancelled; return Int(CURL_READFUNC_ABORT) }
            switch upload {
            case .none: return 0
            case .bytes(let b):
                let n = min(max, b.count - Int(uploaded))
                if n > 0 { b.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + Int(uploaded), byteCount: n) } }
                uploaded += Int64(n)
                onUpload?(uploaded)
                return n
            case .file(let fd, let offset, let length):
                let want = min(Int64(max), length - uploaded)
                if want <= 0 { return 0 }
                var n: Int
                repeat { n = pread(fd, buffer, Int(want), off_t(offset + uploaded)) } while n < 0 && errno == EINTR
                if n <= 0 {
                    failure = ContentError.io(operation: "read", path: "fd \(fd)", errno: n < 0 ? errno : EIO)
                    return Int(CURL_READFUNC_ABORT)
                }
                uploaded += Int64(n)
                onUpload?(uploaded)
                return n
            }
        }
    }

    private func takeHandle() -> Handle {
        if let h = pool.withLock({ $0.popLast() }) { return h }
        return Handle(raw: curl_easy_init())
    }

    private func giveBack(_ h: Handle) {
        curl_easy_reset(h.raw)
        let kept = pool.withLock { handles -> Bool in
            guard handles.count < 16 else { return false }
            handles.append(h)
            return true
        }
        if !kept { curl_easy_cleanup(h.raw) }
    }

    /// Performs `request`. A 2xx body goes to `sink` when one is given (after `head`), else it
    /// is collected in the response; other bodies are always collected (they carry the error).
    func perform(_ request: HTTPRequest, tls: TLSSettings, head: Head? = nil, sink: Sink? = nil,
                 onUpload: ((Int64) -> Void)? = nil, cancelled: CancellationFlag? = nil) throws(Failure) -> HTTPResponse {
        let handle = takeHandle()
        let h = handle.raw
        defer { giveBack(handle) }
        let ctx = Context(cancelled: cancelled)
        ctx.head = head
        ctx.sink = sink
        ctx.upload = request.body
        ctx.onUpload = onUpload
        let ud = Unmanaged.passUnretained(ctx).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        var list: UnsafeMutablePointer<curl_slist>? = nil
        for line in request.headers + ["Expect:"] { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }

        let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { eb in
            ch_setopt_str(h, CURLOPT_URL, request.url)
            ch_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            ch_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1)
            ch_setopt_long(h, CURLOPT_MAXREDIRS, 10)
            ch_setopt_long(h, CURLOPT_BUFFERSIZE, bufferSize)
            ch_setopt_long(h, CURLOPT_UPLOAD_BUFFERSIZE, 1 << 20)
            ch_setopt_long(h, CURLOPT_CONNECTTIMEOUT, 30)
            // A connection that stalls (no byte for a minute) is abandoned and retried.
            ch_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, 1)
            ch_setopt_long(h, CURLOPT_LOW_SPEED_TIME, 60)
            ch_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
            ch_setopt_str(h, CURLOPT_USERAGENT, userAgent)
            ch_setopt_ptr(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
            ch_setopt_slist(h, CURLOPT_HTTPHEADER, list)
            ch_setopt_fn(h, CURLOPT_WRITEFUNCTION) { ptr, size, n, ud in
                let c = Unmanaged<Context>.fromOpaque(ud!).takeUnretainedValue()
                return c.receive(UnsafeRawBufferPointer(start: ptr, count: size * n)) ? size * n : 0
            }
            ch_setopt_ptr(h, CURLOPT_WRITEDATA, ud)
            ch_setopt_fn(h, CURLOPT_HEADERFUNCTION) { ptr, size, n, ud in
                let c = Unmanaged<Context>.fromOpaque(ud!).takeUnretainedValue()
                c.header(UnsafeRawBufferPointer(start: ptr, count: size * n))
                return size * n
            }
            ch_setopt_ptr(h, CURLOPT_HEADERDATA, ud)
            if !tls.verify {
                ch_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
                ch_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
            } else if let pem = tls.caBundle {
                pem.withUnsafeBytes { _ = ch_setopt_blob(h, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count) }
            }

            let hasBody: Bool
            if case .none = request.body { hasBody = false } else { hasBody = true }
            if hasBody {
                ch_setopt_fn(h, CURLOPT_READFUNCTION) { ptr, size, n, ud in
                    let c = Unmanaged<Context>.fromOpaque(ud!).takeUnretainedValue()
                    return c.read(into: UnsafeMutableRawPointer(ptr!), max: size * n)
                }
                ch_setopt_ptr(h, CURLOPT_READDATA, ud)
            }
            switch request.method {
            case "GET": ch_setopt_long(h, CURLOPT_HTTPGET, 1)
            case "HEAD": ch_setopt_long(h, CURLOPT_NOBODY, 1)
            case "POST":
                ch_setopt_long(h, CURLOPT_POST, 1)
                if hasBody { ch_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.length)) }
                else { ch_setopt_str(h, CURLOPT_POSTFIELDS, ""); ch_setopt_long(h, CURLOPT_POSTFIELDSIZE, 0) }
            case "PUT", "PATCH":
                ch_setopt_long(h, CURLOPT_UPLOAD, 1)
                ch_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.length))
                if !hasBody {
                    ch_setopt_fn(h, CURLOPT_READFUNCTION) { _, _, _, _ in 0 }
                }
                if request.method == "PATCH" { ch_setopt_str(h, CURLOPT_CUSTOMREQUEST, "PATCH") }
            default:
                ch_setopt_str(h, CURLOPT_CUSTOMREQUEST, request.method)
            }
            return curl_easy_perform(h)
        }

        if result != CURLE_OK {
            if let f = ctx.failure { throw Failure(code: Int32(result.rawValue), message: "\(f)", sinkError: f) }
            let detail = String(decoding: errorBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
            throw Failure(code: Int32(result.rawValue), message: message, sinkError: nil)
        }
        // A 2xx answer without a body still owes its head callback (a 0-byte blob, a HEAD).
        if !ctx.headDone, ctx.isSuccess(), let head = ctx.head {
            do { try head(ctx.status, ctx.headers) } catch { throw Failure(code: -1, message: "\(error)", sinkError: error) }
        }
        let effective = ch_getinfo_str(h, CURLINFO_EFFECTIVE_URL).map { String(cString: $0) } ?? request.url
        let status = ch_getinfo_long(h, CURLINFO_RESPONSE_CODE)
        return HTTPResponse(status: status > 0 ? status : ctx.status, headers: ctx.headers, body: ctx.body, url: effective)
    }

    /// The server's certificate did not verify (unknown CA, wrong name, expired): retrying
    /// cannot help, and the user must be told which certificate to trust.
    static func isCertificateFailure(_ code: Int32) -> Bool {
        let codes: [CURLcode] = [CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH]
        return codes.contains { Int32($0.rawValue) == code }
    }

    /// A TLS handshake answered in plain HTTP (OpenSSL's "wrong version number" /
    /// "packet length too long"): the server does not speak TLS on that port.
    static func isPlainHTTPServer(_ code: Int32, _ message: String) -> Bool {
        code == Int32(CURLE_SSL_CONNECT_ERROR.rawValue)
            && (message.contains("wrong version number") || message.contains("packet length too long")
                || message.contains("record layer failure"))
    }

    /// curl failures worth another attempt: the network, not the request.
    static func isTransient(_ code: Int32) -> Bool {
        let transient: [CURLcode] = [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT,
                                     CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING,
                                     CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR]
        return transient.contains { Int32($0.rawValue) == code }
    }
}
