public import DialerConfig
import DialerTransport
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
public import ServiceLifecycle

/// Builds the HTTP application of a process (HTTP/1.1 and HTTP/2, see ``HTTPVersionsChannel``),
/// with its other services run alongside it in one service group: SIGTERM or SIGINT shuts them
/// all down gracefully, the HTTP server last. Every process also runs a ``SchedulingLagProbe``.
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
            server: try .http1And2(
                tls: tls, streamConfiguration: .init(additionalChannelHandlers: [ExpectContinueHandler()])
            ) { responder in
                HTTP1Channel(
                    responder: responder, configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()]))
            },
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port), serverName: nil),
            services: services + [SchedulingLagProbe()],
            onServerRunning: { channel in
                listening.bound(
                    "http", address: ListeningAddresses.describe(host: address.host, port: channel.localAddress?.port))
            },
            logger: logger
        )
    }
}
