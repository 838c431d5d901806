#include "gateway/client_security.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/bearer_token_check.h"
#include "gateway/file_contents.h"

namespace tcpgate {
namespace {

// Adds `authorization: <value>` to the initial metadata of every call.
class AuthorizationInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit AuthorizationInterceptor(const std::string& authorization) : authorization_(authorization) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", authorization_);
    }
    methods->Proceed();
  }

 private:
  const std::string& authorization_;  // Owned by the factory, which the channel keeps.
};

class AuthorizationInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AuthorizationInterceptorFactory(std::string authorization) : authorization_(std::move(authorization)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new AuthorizationInterceptor(authorization_);
  }

 private:
  const std::string authorization_;
};

}  // namespace

ClientSecurity::ClientSecurity() : credentials_(grpc::InsecureChannelCredentials()) {}

absl::StatusOr<ClientSecurity> ClientSecurity::FromOptions(const ClientSecurityOptions& options) {
  ClientSecurity security;
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(options.tls_cert.empty() ? "--tls_key needs --tls_cert"
                                                               : "--tls_cert needs --tls_key");
  }
  const bool tls =
      options.tls || !options.tls_ca.empty() || !options.tls_cert.empty() || !options.tls_server_name.empty();
  if (tls) {
    grpc::SslCredentialsOptions ssl;  // Empty roots: the system's.
    if (!options.tls_ca.empty()) {
      absl::StatusOr<std::string> roots = ReadPemFile(options.tls_ca, "tls_ca");
      if (!roots.ok()) return roots.status();
      ssl.pem_root_certs = *std::move(roots);
    }
    if (!options.tls_cert.empty()) {
      absl::StatusOr<std::string> cert_chain = ReadPemFile(options.tls_cert, "tls_cert");
      if (!cert_chain.ok()) return cert_chain.status();
      absl::StatusOr<std::string> private_key = ReadPemFile(options.tls_key, "tls_key");
      if (!private_key.ok()) return private_key.status();
      ssl.pem_cert_chain = *std::move(cert_chain);
      ssl.pem_private_key = *std::move(private_key);
    }
    security.credentials_ = grpc::SslCredentials(ssl);
    security.server_name_ = options.tls_server_name;
  }
  if (!options.auth_token_file.empty()) {
    absl::StatusOr<std::string> token = ReadBearerTokenFile(options.auth_token_file);
    if (!token.ok()) {
      return absl::Status(token.status().code(), absl::StrCat("--auth_token_file: ", token.status().message()));
    }
    security.authorization_ = absl::StrCat("Bearer ", *token);
  }
  return security;
}

std::shared_ptr<grpc::Channel> ClientSecurity::NewChannel(const std::string& target,
                                                          grpc::ChannelArguments args) const {
  if (!server_name_.empty()) args.SetSslTargetNameOverride(server_name_);
  if (authorization_.empty()) return grpc::CreateCustomChannel(target, credentials_, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<AuthorizationInterceptorFactory>(authorization_));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials_, args, std::move(interceptors));
}

}  // namespace tcpgate
