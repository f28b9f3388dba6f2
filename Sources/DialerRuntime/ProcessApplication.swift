public import DialerConfig
import DialerTransport
public import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
public import ServiceLifecycle

/// Builds the HTTP application of a process, with its other services run alongside it in one
/// service group: SIGTERM or SIGINT shuts them all down gracefully, the HTTP server last.
public enum ProcessApplication {
    public static func make<Context: RequestContext>(
        router: Router<Context>,
        address: HostPort,
        services: [any Service],
        listening: ListeningAddresses,
        tls: TLSFiles? = nil,
        logger: Logger
    ) throws -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
        Application(
            router: router,
            server: try .withOptionalTLS(
                .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])), tls: tls),
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port), serverName: nil),
            services: services,
            onServerRunning: { channel in
                listening.bound(
                    "http", address: ListeningAddresses.describe(host: address.host, port: channel.localAddress?.port))
            },
            logger: logger
        )
    }
}

extension HTTPServerBuilder {
    /// `base` inside TLS when the cluster file configures it (docs/TLS.md), else `base`.
    /// Bad files stop the process here, with the key and the file named.
    public static func withOptionalTLS(_ base: HTTPServerBuilder, tls: TLSFiles?) throws -> HTTPServerBuilder {
        guard let tls else { return base }
        return try .tls(base, tlsConfiguration: try ClusterTLS(files: tls).serverConfiguration)
    }
}
