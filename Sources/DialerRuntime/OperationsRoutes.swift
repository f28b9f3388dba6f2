public import Hummingbird
import NIOCore
public import Prometheus

/// The endpoints every process serves: `/healthz` (the process is alive and its event loops
/// answer), `/readyz` (it can do its work: 503 with what is missing otherwise) and
/// `/metrics` (Prometheus text format).
public enum OperationsRoutes {
    /// The paths these routes take (all GET, no authentication).
    public static let paths = ["/healthz", "/readyz", "/metrics"]

    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        registry: PrometheusCollectorRegistry,
        readiness: Readiness
    ) {
        router.get("healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("readyz") { _, _ in
            let missing = readiness.missing
            if missing.isEmpty {
                return Response(
                    status: .ok, headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
            }
            let text = "not ready: " + missing.joined(separator: ", ") + "\n"
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("metrics") { _, _ in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 * 1024)
            registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
