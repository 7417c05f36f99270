#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "core/error.hpp"
#include "http/client.hpp"
#include "support/run_async.hpp"

namespace chatsync::http {
namespace {

using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using Tcp = net::ip::tcp;

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
};

using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

void Check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(std::string("OpenSSL: ") + what);
    }
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    Check(extension != nullptr, "extension");
    Check(X509_add_ext(cert, extension, -1) == 1, "add extension");
    X509_EXTENSION_free(extension);
}

/// Issues a certificate for `key`. Without an issuer it is a self-signed CA.
CertPtr
Issue(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key, long serial) {
    CertPtr cert(X509_new());
    Check(cert != nullptr, "X509_new");
    Check(X509_set_version(cert.get(), 2) == 1, "version");
    Check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
    Check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    Check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
    Check(X509_set_pubkey(cert.get(), key) == 1, "pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    Check(
        X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0
        ) == 1,
        "CN"
    );
    X509* signer = issuer != nullptr ? issuer : cert.get();
    Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1, "issuer");
    AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer == nullptr) {
        AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
        AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
        AddExtension(cert.get(), signer, NID_subject_alt_name, "DNS:localhost");
    }
    Check(
        X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "sign"
    );
    return cert;
}

std::string CertPem(X509* cert) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    Check(PEM_write_bio_X509(bio.get(), cert) == 1, "write cert");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string KeyPem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    Check(
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write key"
    );
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

/// A throwaway CA and a server certificate for "localhost" signed by it, made once per run.
/// Only the CA certificate touches the disk (the client takes a ca_file path).
class TestPki {
public:
    TestPki() {
        KeyPtr ca_key(EVP_EC_gen("P-256"));
        KeyPtr server_key(EVP_EC_gen("P-256"));
        Check(ca_key && server_key, "key generation");
        CertPtr ca = Issue(ca_key.get(), "chatsync test CA", nullptr, nullptr, 1);
        CertPtr server = Issue(server_key.get(), "localhost", ca.get(), ca_key.get(), 2);
        server_cert_pem_ = CertPem(server.get());
        server_key_pem_ = KeyPem(server_key.get());

        char path[] = "/tmp/chatsync-test-ca-XXXXXX";
        const int fd = mkstemp(path);
        Check(fd >= 0, "mkstemp");
        close(fd);
        ca_file_ = path;
        std::ofstream(ca_file_) << CertPem(ca.get());
    }

    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    ~TestPki() { std::remove(ca_file_.c_str()); }

    const std::string& ca_file() const { return ca_file_; }

    const std::string& server_cert_pem() const { return server_cert_pem_; }

    const std::string& server_key_pem() const { return server_key_pem_; }

private:
    std::string ca_file_;
    std::string server_cert_pem_;
    std::string server_key_pem_;
};

const TestPki& Pki() {
    static const TestPki pki;
    return pki;
}

struct TlsUpstream {
    explicit TlsUpstream(net::io_context& ioc)
        : context(ssl::context::tls_server)
        , acceptor(ioc, Tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
        context.use_certificate_chain(net::buffer(Pki().server_cert_pem()));
        context.use_private_key(net::buffer(Pki().server_key_pem()), ssl::context::pem);
    }

    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    ssl::context context;
    Tcp::acceptor acceptor;
    int handshakes = 0;
};

Task<void> ServeTls(std::shared_ptr<TlsUpstream> upstream, Tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), upstream->context);
    beast::get_lowest_layer(stream).expires_after(5s);
    auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::server, kAsTuple);
    if (handshake_ec) {
        co_return;  // The client refused our certificate.
    }
    ++upstream->handshakes;
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    auto [read_ec, read_n] = co_await bhttp::async_read(stream, buffer, request, kAsTuple);
    (void)read_n;
    if (read_ec) {
        co_return;
    }
    bhttp::response<bhttp::string_body> response(bhttp::status::ok, 11);
    response.body() = "secure " + std::string(request.target());
    response.keep_alive(false);
    response.prepare_payload();
    auto [write_ec, written] = co_await bhttp::async_write(stream, response, kAsTuple);
    (void)written;
    if (!write_ec) {
        auto [shutdown_ec] = co_await stream.async_shutdown(kAsTuple);
        (void)shutdown_ec;  // The client may have closed first; the answer is already out.
    }
}

Task<void> AcceptTls(std::shared_ptr<TlsUpstream> upstream) {
    while (true) {
        auto [ec, socket] = co_await upstream->acceptor.async_accept(kAsTuple);
        if (ec) {
            co_return;
        }
        net::co_spawn(
            upstream->acceptor.get_executor(),
            ServeTls(upstream, std::move(socket)),
            [](std::exception_ptr) {}
        );
    }
}

std::shared_ptr<TlsUpstream> StartTls(net::io_context& ioc) {
    auto upstream = std::make_shared<TlsUpstream>(ioc);
    net::co_spawn(ioc, AcceptTls(upstream), [](std::exception_ptr) {});
    return upstream;
}

Request HttpsGet(std::string url) {
    return Request{.method = "GET", .url = std::move(url), .headers = {}, .body = {}};
}

TEST(ClientTls, VerifiesAgainstTheGivenCa) {
    net::io_context ioc;
    auto upstream = StartTls(ioc);
    Client client(ioc.get_executor(), {.ca_file = Pki().ca_file()});
    const auto result = test::RunAsync(
        ioc,
        client.Send(HttpsGet("https://localhost:" + std::to_string(upstream->port()) + "/x")),
        10s
    );
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->status, 200U);
    EXPECT_EQ(result->body, "secure /x");
}

TEST(ClientTls, FailsWithoutTheCa) {
    net::io_context ioc;
    auto upstream = StartTls(ioc);
    Client client(ioc.get_executor(), {});
    const auto result = test::RunAsync(
        ioc,
        client.Send(HttpsGet("https://localhost:" + std::to_string(upstream->port()) + "/")),
        10s
    );
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::kTls));
    EXPECT_EQ(upstream->handshakes, 0);
}

TEST(ClientTls, AnotherClientsCaFileIsNotTrustedByClientsWithout) {
    // Clients without a ca_file share one store of the system's CAs: a ca_file must go to
    // its own client's store, never to the shared one.
    net::io_context ioc;
    auto upstream = StartTls(ioc);
    const auto url = "https://localhost:" + std::to_string(upstream->port()) + "/";
    Client before(ioc.get_executor(), {});
    Client with_ca(ioc.get_executor(), {.ca_file = Pki().ca_file()});
    Client after(ioc.get_executor(), {});
    const auto trusted = test::RunAsync(ioc, with_ca.Send(HttpsGet(url)), 10s);
    ASSERT_TRUE(trusted) << trusted.error().message();
    for (Client* client : {&before, &after}) {
        const auto result = test::RunAsync(ioc, client->Send(HttpsGet(url)), 10s);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error(), make_error_code(Errc::kTls));
    }
    EXPECT_EQ(upstream->handshakes, 1);
}

TEST(ClientTls, FailsOnHostNameMismatch) {
    net::io_context ioc;
    auto upstream = StartTls(ioc);
    Client client(ioc.get_executor(), {.ca_file = Pki().ca_file()});
    // The certificate names "localhost" only, so the address literal does not match it.
    const auto result = test::RunAsync(
        ioc,
        client.Send(HttpsGet("https://127.0.0.1:" + std::to_string(upstream->port()) + "/")),
        10s
    );
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::kTls));
    EXPECT_EQ(upstream->handshakes, 0);
}

TEST(ClientTls, SkipsVerificationWhenDisabled) {
    net::io_context ioc;
    auto upstream = StartTls(ioc);
    Client client(ioc.get_executor(), {.verify_tls = false});
    const auto result = test::RunAsync(
        ioc,
        client.Send(HttpsGet("https://127.0.0.1:" + std::to_string(upstream->port()) + "/y")),
        10s
    );
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->body, "secure /y");
}

TEST(ClientTls, PlainServerIsATlsFailure) {
    net::io_context ioc;
    // An acceptor that answers the ClientHello with HTTP text.
    Tcp::acceptor acceptor(ioc, Tcp::endpoint(net::ip::address_v4::loopback(), 0));
    Tcp::socket peer(ioc);
    acceptor.async_accept(peer, [&](boost::system::error_code ec) {
        if (!ec) {
            static const std::string kReply =
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
            net::async_write(peer, net::buffer(kReply), [](boost::system::error_code, std::size_t) {
            });
        }
    });
    Client client(ioc.get_executor(), {.connect_timeout = 2s});
    const auto result = test::RunAsync(
        ioc,
        client.Send(
            HttpsGet("https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/")
        ),
        10s
    );
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::kTls));
}

TEST(ClientTls, ConnectTimeoutCoversTheHandshake) {
    net::io_context ioc;
    // The kernel completes the TCP handshake from the backlog; nobody ever answers TLS.
    Tcp::acceptor silent(ioc, Tcp::endpoint(net::ip::address_v4::loopback(), 0));
    Client client(ioc.get_executor(), {.connect_timeout = 200ms});
    const auto start = std::chrono::steady_clock::now();
    const auto result = test::RunAsync(
        ioc,
        client.Send(
            HttpsGet("https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/")
        ),
        10s
    );
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::kTimeout));
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 1s);
}

TEST(ClientTls, CancellationDuringTheHandshakeReturnsPromptly) {
    net::io_context ioc;
    Tcp::acceptor silent(ioc, Tcp::endpoint(net::ip::address_v4::loopback(), 0));
    Client client(ioc.get_executor(), {.connect_timeout = 10s});
    net::cancellation_signal signal;
    std::optional<Result<Response>> outcome;
    net::co_spawn(
        ioc,
        client.Send(
            HttpsGet("https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/")
        ),
        net::bind_cancellation_slot(
            signal.slot(),
            [&](std::exception_ptr e, Result<Response> r) {
                ASSERT_FALSE(e);
                outcome = std::move(r);
            }
        )
    );
    net::steady_timer timer(ioc);
    timer.expires_after(100ms);
    timer.async_wait([&](boost::system::error_code) {
        signal.emit(net::cancellation_type::terminal);
    });
    const auto start = std::chrono::steady_clock::now();
    while (!outcome && std::chrono::steady_clock::now() - start < 5s) {
        ioc.run_one_for(50ms);
    }
    ASSERT_TRUE(outcome);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    ASSERT_FALSE(*outcome);
    EXPECT_EQ(outcome->error(), make_error_code(Errc::kCancelled));
}

}  // namespace
}  // namespace chatsync::http
