public import DialerConfig
import NIOCore
public import NIOSSL

/// TLS under the cluster protocol and the HTTP listeners, from the cluster file's PEM files
/// (see docs/TLS.md). The HMAC handshake still runs inside the TLS session: TLS protects the
/// bytes and, with `tls_client_auth = "require"`, admits only holders of a certificate the
/// cluster's authority signed; the secret still proves membership.
public struct ClusterTLS: Sendable {
    /// What a listener presents and requires.
    public let serverConfiguration: TLSConfiguration
    /// What a connecting process trusts and presents.
    public let clientConfiguration: TLSConfiguration
    private let serverContext: NIOSSLContext
    private let clientContext: NIOSSLContext

    /// Reads and checks the files now, so that a bad path or PEM stops the process at startup
    /// with the file named.
    public init(files: TLSFiles) throws {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let authority: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw ClusterTLSError("cluster.tls_certificate \(files.certificate): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw ClusterTLSError("cluster.tls_key \(files.key): \(error)")
        }
        do {
            authority = try NIOSSLCertificate.fromPEMFile(files.certificateAuthority)
        } catch {
            throw ClusterTLSError("cluster.tls_ca \(files.certificateAuthority): \(error)")
        }
        guard !chain.isEmpty else {
            throw ClusterTLSError("cluster.tls_certificate \(files.certificate) holds no certificate")
        }
        guard !authority.isEmpty else {
            throw ClusterTLSError("cluster.tls_ca \(files.certificateAuthority) holds no certificate")
        }
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        server.minimumTLSVersion = .tlsv12
        server.trustRoots = .certificates(authority)
        // A server checks a client's certificate against the authority, not against a name.
        server.certificateVerification = files.clientAuthentication == .require ? .noHostnameVerification : .none
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv12
        client.trustRoots = .certificates(authority)
        client.certificateVerification = .fullVerification
        // Presented when a server asks (mutual TLS).
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        self.serverConfiguration = server
        self.clientConfiguration = client
        do {
            serverContext = try NIOSSLContext(configuration: server)
            clientContext = try NIOSSLContext(configuration: client)
        } catch {
            throw ClusterTLSError("the TLS files do not make a usable configuration: \(error)")
        }
    }

    /// The handler a listener puts first in an accepted connection's pipeline.
    public func serverHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: serverContext)
    }

    /// The handler a connecting process puts first in its pipeline. The server's certificate
    /// must name `host` (a DNS name or an IP address, as a subject alternative name).
    public func clientHandler(host: String) throws -> NIOSSLClientHandler {
        // SNI carries names only; an address is checked against the certificate's IP entries.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: clientContext, serverHostname: isAddress ? nil : host)
    }
}

/// The TLS files cannot be used; the message names the key and the file.
public struct ClusterTLSError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
