// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-dialer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dialer-manager", targets: ["dialer-manager"]),
        .executable(name: "dialer-node", targets: ["dialer-node"]),
        .executable(name: "agent-gateway", targets: ["agent-gateway"]),
        .executable(name: "dialerctl", targets: ["dialerctl"]),
        .executable(name: "dialer-sim", targets: ["dialer-sim"]),
        .executable(name: "dialer-loadtest", targets: ["dialer-loadtest"]),
        .executable(name: "dialer-bench", targets: ["dialer-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        // The multi-host store: several managers on one PostgreSQL (`manager.database = "postgres://..."`).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // HTTPS with the cluster's own authority and client certificate, for the operator tools.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Domain types and pure state machines: values in, actions out. No I/O.
        .target(
            name: "DialerCore",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // Generated protobuf messages and the frame codec.
        .target(
            name: "DialerProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // Connections: handshake, authentication, heartbeats, server and client.
        .target(
            name: "DialerTransport",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // SIP signalling: parser, transactions, dialogs, digest, SDP, UDP/TCP shells, SIPTrunk and its media.
        .target(
            name: "DialerSIP",
            dependencies: [
                "DialerCore", "DialerConfig", "DialerMedia",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Contact-list import: streaming CSV and JSON readers, column mapping, phone numbers.
        .target(name: "DialerImport", swiftSettings: swiftSettings),
        // The cluster configuration file and its overrides.
        .target(name: "DialerConfig", swiftSettings: swiftSettings),
        // The one system call Swift cannot make: sched_setattr(2), for the threads' time slice.
        .target(name: "CDialerScheduling"),
        // What every process shares: logging, metrics, the operations HTTP endpoints.
        .target(
            name: "DialerRuntime",
            dependencies: [
                "CDialerScheduling",
                "DialerCore",
                "DialerConfig",
                "DialerTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DialerManager",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerTransport", "DialerConfig", "DialerRuntime", "DialerImport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The console and the live panel (HTML, CSS, JavaScript modules), served at /console/.
            resources: [.copy("Pages")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DialerNode",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerTransport", "DialerConfig", "DialerRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentGateway",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerTransport", "DialerConfig", "DialerRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The agent's desktop (HTML, CSS, JavaScript modules), served at /agent/.
            resources: [.copy("Pages")],
            swiftSettings: swiftSettings
        ),
        // Product code for the demo, tests and load tests: the simulated trunk, the simulator.
        .target(
            name: "DialerSimulation",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerTransport",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            exclude: ["Trunk/POPULATION.md"],
            swiftSettings: swiftSettings
        ),
        // The demo, the load tester and the micro-benchmarks: a local cluster, campaign setup
        // through the API, synthetic agents at work, measurements and reports.
        .target(
            name: "DialerLoad",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerTransport", "DialerRuntime", "DialerSimulation", "DialerMedia",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Audio for real calls: G.711, WAV prompts, RTP packets, the prompt sender, the media relay
        // and answering-machine detection. Plain values in (addresses, payload types, ptime): no SIP.
        .target(
            name: "DialerMedia",
            dependencies: [
                "DialerCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Tests only: manual clock, fixtures, the cluster test scope.
        .target(
            name: "DialerTestSupport",
            dependencies: [
                "DialerCore", "DialerProtocol", "DialerTransport", "DialerRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Thin executables: parse configuration, build services, run a ServiceGroup.
        .executableTarget(
            name: "dialer-manager",
            dependencies: [
                "DialerManager", "DialerConfig", "DialerRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dialer-node",
            dependencies: [
                // The executable picks the node's trunk: simulated or SIP (the node library knows `Trunk` only).
                "DialerNode", "DialerConfig", "DialerRuntime", "DialerSimulation", "DialerSIP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "agent-gateway",
            dependencies: [
                "AgentGateway", "DialerConfig", "DialerRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dialerctl",
            dependencies: [
                "DialerConfig", "DialerRuntime", "DialerLoad", "DialerTransport",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "DialerCoreTests", dependencies: ["DialerCore", "DialerTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DialerProtocolTests",
            dependencies: [
                "DialerProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DialerTransportTests",
            dependencies: [
                "DialerTransport", "DialerProtocol", "DialerTestSupport", "DialerConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dialer-sim",
            dependencies: [
                // DialerLoad: `--replay` builds the load tester's and the demo's work from their own code.
                "DialerSimulation", "DialerCore", "DialerLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dialer-loadtest",
            dependencies: [
                "DialerLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dialer-bench",
            dependencies: [
                "DialerLoad", "DialerManager", "DialerCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DialerMediaTests",
            dependencies: [
                "DialerMedia", "DialerCore", "DialerTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DialerLoadTests", dependencies: ["DialerLoad", "DialerCore", "DialerProtocol"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DialerSimulationTests", dependencies: ["DialerSimulation", "DialerCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DialerSIPTests",
            dependencies: [
                "DialerSIP", "DialerCore", "DialerConfig", "DialerMedia", "DialerTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DialerRuntimeTests",
            dependencies: [
                "DialerRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "DialerImportTests", dependencies: ["DialerImport"], swiftSettings: swiftSettings),
        .testTarget(name: "DialerConfigTests", dependencies: ["DialerConfig"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DialerManagerTests",
            dependencies: [
                "DialerManager", "DialerCore", "DialerConfig", "DialerRuntime", "DialerImport",
                "DialerProtocol", "DialerTransport", "DialerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DialerNodeTests",
            dependencies: [
                "DialerNode", "DialerManager", "DialerCore", "DialerConfig", "DialerProtocol", "DialerTransport",
                "DialerTestSupport", "DialerSimulation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentGatewayTests",
            dependencies: [
                "AgentGateway", "DialerNode", "DialerTestSupport", "DialerProtocol", "DialerTransport", "DialerCore",
                "DialerSimulation", "DialerRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            resources: [.copy("ws_agent_client.py")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "DialerTestSupport", "DialerProtocol", "DialerTransport", "DialerCore", "DialerRuntime", "DialerNode",
                "DialerManager", "DialerSimulation", "DialerLoad", "DialerMedia",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
