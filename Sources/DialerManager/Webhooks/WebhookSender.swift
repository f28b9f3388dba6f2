import FoundationEssentials

#if canImport(FoundationNetworking)
import FoundationNetworking
#else
import Foundation
#endif

/// Posts one signed delivery and says how the receiver answered.
public protocol WebhookSender: Sendable {
    func send(_ delivery: WebhookDueDelivery, timestamp: Int64, timeout: Duration) async
        -> WebhookDeliveryMachine.Result
}

/// Deliveries over `URLSession` (FoundationNetworking on Linux): the package has no HTTP
/// client of its own (async-http-client is only a test dependency of Hummingbird), and
/// URLSession brings HTTPS, proxies and timeouts with nothing added to the build, where a
/// hand-written NIO client would speak plain HTTP only.
public struct URLSessionWebhookSender: WebhookSender {
    private let session: URLSession

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        self.session = URLSession(configuration: configuration)
    }

    public func send(_ delivery: WebhookDueDelivery, timestamp: Int64, timeout: Duration) async
        -> WebhookDeliveryMachine.Result
    {
        guard let url = URL(string: delivery.url) else { return .error("the URL cannot be read") }
        let body = Data(delivery.payload.utf8)
        var request = URLRequest(
            url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout.secondsValue)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("swift-dialer-webhooks/1", forHTTPHeaderField: "User-Agent")
        request.setValue(delivery.eventID, forHTTPHeaderField: WebhookSignature.idHeader)
        request.setValue(String(timestamp), forHTTPHeaderField: WebhookSignature.timestampHeader)
        request.setValue(
            WebhookSignature.sign(body: body, timestamp: timestamp, secret: delivery.secret),
            forHTTPHeaderField: WebhookSignature.signatureHeader)
        do {
            let (_, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { return .error("not an HTTP response") }
            return .status(http.statusCode)
        } catch {
            return .error(String(describing: error).prefix(300).description)
        }
    }
}
