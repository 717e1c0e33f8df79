package io.postwave.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class AdminServiceGrpc {

  private AdminServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "postwave.v1.AdminService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.CreateTenantRequest,
      io.postwave.v1.Tenant> getCreateTenantMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateTenant",
      requestType = io.postwave.v1.CreateTenantRequest.class,
      responseType = io.postwave.v1.Tenant.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.CreateTenantRequest,
      io.postwave.v1.Tenant> getCreateTenantMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.CreateTenantRequest, io.postwave.v1.Tenant> getCreateTenantMethod;
    if ((getCreateTenantMethod = AdminServiceGrpc.getCreateTenantMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateTenantMethod = AdminServiceGrpc.getCreateTenantMethod) == null) {
          AdminServiceGrpc.getCreateTenantMethod = getCreateTenantMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.CreateTenantRequest, io.postwave.v1.Tenant>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateTenant"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CreateTenantRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Tenant.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("CreateTenant"))
              .build();
        }
      }
    }
    return getCreateTenantMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ListTenantsRequest,
      io.postwave.v1.ListTenantsResponse> getListTenantsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListTenants",
      requestType = io.postwave.v1.ListTenantsRequest.class,
      responseType = io.postwave.v1.ListTenantsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ListTenantsRequest,
      io.postwave.v1.ListTenantsResponse> getListTenantsMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ListTenantsRequest, io.postwave.v1.ListTenantsResponse> getListTenantsMethod;
    if ((getListTenantsMethod = AdminServiceGrpc.getListTenantsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListTenantsMethod = AdminServiceGrpc.getListTenantsMethod) == null) {
          AdminServiceGrpc.getListTenantsMethod = getListTenantsMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ListTenantsRequest, io.postwave.v1.ListTenantsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListTenants"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListTenantsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListTenantsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ListTenants"))
              .build();
        }
      }
    }
    return getListTenantsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.CreateApiKeyRequest,
      io.postwave.v1.CreateApiKeyResponse> getCreateApiKeyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateApiKey",
      requestType = io.postwave.v1.CreateApiKeyRequest.class,
      responseType = io.postwave.v1.CreateApiKeyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.CreateApiKeyRequest,
      io.postwave.v1.CreateApiKeyResponse> getCreateApiKeyMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.CreateApiKeyRequest, io.postwave.v1.CreateApiKeyResponse> getCreateApiKeyMethod;
    if ((getCreateApiKeyMethod = AdminServiceGrpc.getCreateApiKeyMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateApiKeyMethod = AdminServiceGrpc.getCreateApiKeyMethod) == null) {
          AdminServiceGrpc.getCreateApiKeyMethod = getCreateApiKeyMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.CreateApiKeyRequest, io.postwave.v1.CreateApiKeyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateApiKey"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CreateApiKeyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CreateApiKeyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("CreateApiKey"))
              .build();
        }
      }
    }
    return getCreateApiKeyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ListApiKeysRequest,
      io.postwave.v1.ListApiKeysResponse> getListApiKeysMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListApiKeys",
      requestType = io.postwave.v1.ListApiKeysRequest.class,
      responseType = io.postwave.v1.ListApiKeysResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ListApiKeysRequest,
      io.postwave.v1.ListApiKeysResponse> getListApiKeysMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ListApiKeysRequest, io.postwave.v1.ListApiKeysResponse> getListApiKeysMethod;
    if ((getListApiKeysMethod = AdminServiceGrpc.getListApiKeysMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListApiKeysMethod = AdminServiceGrpc.getListApiKeysMethod) == null) {
          AdminServiceGrpc.getListApiKeysMethod = getListApiKeysMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ListApiKeysRequest, io.postwave.v1.ListApiKeysResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListApiKeys"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListApiKeysRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListApiKeysResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ListApiKeys"))
              .build();
        }
      }
    }
    return getListApiKeysMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.RevokeApiKeyRequest,
      io.postwave.v1.ApiKey> getRevokeApiKeyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RevokeApiKey",
      requestType = io.postwave.v1.RevokeApiKeyRequest.class,
      responseType = io.postwave.v1.ApiKey.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.RevokeApiKeyRequest,
      io.postwave.v1.ApiKey> getRevokeApiKeyMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.RevokeApiKeyRequest, io.postwave.v1.ApiKey> getRevokeApiKeyMethod;
    if ((getRevokeApiKeyMethod = AdminServiceGrpc.getRevokeApiKeyMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getRevokeApiKeyMethod = AdminServiceGrpc.getRevokeApiKeyMethod) == null) {
          AdminServiceGrpc.getRevokeApiKeyMethod = getRevokeApiKeyMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.RevokeApiKeyRequest, io.postwave.v1.ApiKey>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RevokeApiKey"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RevokeApiKeyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ApiKey.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("RevokeApiKey"))
              .build();
        }
      }
    }
    return getRevokeApiKeyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.CreateTemplateRequest,
      io.postwave.v1.Template> getCreateTemplateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateTemplate",
      requestType = io.postwave.v1.CreateTemplateRequest.class,
      responseType = io.postwave.v1.Template.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.CreateTemplateRequest,
      io.postwave.v1.Template> getCreateTemplateMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.CreateTemplateRequest, io.postwave.v1.Template> getCreateTemplateMethod;
    if ((getCreateTemplateMethod = AdminServiceGrpc.getCreateTemplateMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateTemplateMethod = AdminServiceGrpc.getCreateTemplateMethod) == null) {
          AdminServiceGrpc.getCreateTemplateMethod = getCreateTemplateMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.CreateTemplateRequest, io.postwave.v1.Template>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateTemplate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CreateTemplateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Template.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("CreateTemplate"))
              .build();
        }
      }
    }
    return getCreateTemplateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.GetTemplateRequest,
      io.postwave.v1.Template> getGetTemplateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetTemplate",
      requestType = io.postwave.v1.GetTemplateRequest.class,
      responseType = io.postwave.v1.Template.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.GetTemplateRequest,
      io.postwave.v1.Template> getGetTemplateMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.GetTemplateRequest, io.postwave.v1.Template> getGetTemplateMethod;
    if ((getGetTemplateMethod = AdminServiceGrpc.getGetTemplateMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetTemplateMethod = AdminServiceGrpc.getGetTemplateMethod) == null) {
          AdminServiceGrpc.getGetTemplateMethod = getGetTemplateMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.GetTemplateRequest, io.postwave.v1.Template>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetTemplate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.GetTemplateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Template.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("GetTemplate"))
              .build();
        }
      }
    }
    return getGetTemplateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ListTemplatesRequest,
      io.postwave.v1.ListTemplatesResponse> getListTemplatesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListTemplates",
      requestType = io.postwave.v1.ListTemplatesRequest.class,
      responseType = io.postwave.v1.ListTemplatesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ListTemplatesRequest,
      io.postwave.v1.ListTemplatesResponse> getListTemplatesMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ListTemplatesRequest, io.postwave.v1.ListTemplatesResponse> getListTemplatesMethod;
    if ((getListTemplatesMethod = AdminServiceGrpc.getListTemplatesMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListTemplatesMethod = AdminServiceGrpc.getListTemplatesMethod) == null) {
          AdminServiceGrpc.getListTemplatesMethod = getListTemplatesMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ListTemplatesRequest, io.postwave.v1.ListTemplatesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListTemplates"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListTemplatesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListTemplatesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ListTemplates"))
              .build();
        }
      }
    }
    return getListTemplatesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.DeleteTemplateRequest,
      io.postwave.v1.DeleteTemplateResponse> getDeleteTemplateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteTemplate",
      requestType = io.postwave.v1.DeleteTemplateRequest.class,
      responseType = io.postwave.v1.DeleteTemplateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.DeleteTemplateRequest,
      io.postwave.v1.DeleteTemplateResponse> getDeleteTemplateMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.DeleteTemplateRequest, io.postwave.v1.DeleteTemplateResponse> getDeleteTemplateMethod;
    if ((getDeleteTemplateMethod = AdminServiceGrpc.getDeleteTemplateMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteTemplateMethod = AdminServiceGrpc.getDeleteTemplateMethod) == null) {
          AdminServiceGrpc.getDeleteTemplateMethod = getDeleteTemplateMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.DeleteTemplateRequest, io.postwave.v1.DeleteTemplateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteTemplate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.DeleteTemplateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.DeleteTemplateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("DeleteTemplate"))
              .build();
        }
      }
    }
    return getDeleteTemplateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.RenderTemplateRequest,
      io.postwave.v1.RenderTemplateResponse> getRenderTemplateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RenderTemplate",
      requestType = io.postwave.v1.RenderTemplateRequest.class,
      responseType = io.postwave.v1.RenderTemplateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.RenderTemplateRequest,
      io.postwave.v1.RenderTemplateResponse> getRenderTemplateMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.RenderTemplateRequest, io.postwave.v1.RenderTemplateResponse> getRenderTemplateMethod;
    if ((getRenderTemplateMethod = AdminServiceGrpc.getRenderTemplateMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getRenderTemplateMethod = AdminServiceGrpc.getRenderTemplateMethod) == null) {
          AdminServiceGrpc.getRenderTemplateMethod = getRenderTemplateMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.RenderTemplateRequest, io.postwave.v1.RenderTemplateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RenderTemplate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RenderTemplateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RenderTemplateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("RenderTemplate"))
              .build();
        }
      }
    }
    return getRenderTemplateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.AddSendingDomainRequest,
      io.postwave.v1.SendingDomain> getAddSendingDomainMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddSendingDomain",
      requestType = io.postwave.v1.AddSendingDomainRequest.class,
      responseType = io.postwave.v1.SendingDomain.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.AddSendingDomainRequest,
      io.postwave.v1.SendingDomain> getAddSendingDomainMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.AddSendingDomainRequest, io.postwave.v1.SendingDomain> getAddSendingDomainMethod;
    if ((getAddSendingDomainMethod = AdminServiceGrpc.getAddSendingDomainMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getAddSendingDomainMethod = AdminServiceGrpc.getAddSendingDomainMethod) == null) {
          AdminServiceGrpc.getAddSendingDomainMethod = getAddSendingDomainMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.AddSendingDomainRequest, io.postwave.v1.SendingDomain>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddSendingDomain"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.AddSendingDomainRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendingDomain.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("AddSendingDomain"))
              .build();
        }
      }
    }
    return getAddSendingDomainMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ListSendingDomainsRequest,
      io.postwave.v1.ListSendingDomainsResponse> getListSendingDomainsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListSendingDomains",
      requestType = io.postwave.v1.ListSendingDomainsRequest.class,
      responseType = io.postwave.v1.ListSendingDomainsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ListSendingDomainsRequest,
      io.postwave.v1.ListSendingDomainsResponse> getListSendingDomainsMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ListSendingDomainsRequest, io.postwave.v1.ListSendingDomainsResponse> getListSendingDomainsMethod;
    if ((getListSendingDomainsMethod = AdminServiceGrpc.getListSendingDomainsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListSendingDomainsMethod = AdminServiceGrpc.getListSendingDomainsMethod) == null) {
          AdminServiceGrpc.getListSendingDomainsMethod = getListSendingDomainsMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ListSendingDomainsRequest, io.postwave.v1.ListSendingDomainsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListSendingDomains"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListSendingDomainsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListSendingDomainsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ListSendingDomains"))
              .build();
        }
      }
    }
    return getListSendingDomainsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.GetSendingDomainRequest,
      io.postwave.v1.SendingDomain> getGetSendingDomainMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSendingDomain",
      requestType = io.postwave.v1.GetSendingDomainRequest.class,
      responseType = io.postwave.v1.SendingDomain.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.GetSendingDomainRequest,
      io.postwave.v1.SendingDomain> getGetSendingDomainMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.GetSendingDomainRequest, io.postwave.v1.SendingDomain> getGetSendingDomainMethod;
    if ((getGetSendingDomainMethod = AdminServiceGrpc.getGetSendingDomainMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetSendingDomainMethod = AdminServiceGrpc.getGetSendingDomainMethod) == null) {
          AdminServiceGrpc.getGetSendingDomainMethod = getGetSendingDomainMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.GetSendingDomainRequest, io.postwave.v1.SendingDomain>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSendingDomain"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.GetSendingDomainRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendingDomain.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("GetSendingDomain"))
              .build();
        }
      }
    }
    return getGetSendingDomainMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.VerifySendingDomainRequest,
      io.postwave.v1.SendingDomain> getVerifySendingDomainMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "VerifySendingDomain",
      requestType = io.postwave.v1.VerifySendingDomainRequest.class,
      responseType = io.postwave.v1.SendingDomain.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.VerifySendingDomainRequest,
      io.postwave.v1.SendingDomain> getVerifySendingDomainMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.VerifySendingDomainRequest, io.postwave.v1.SendingDomain> getVerifySendingDomainMethod;
    if ((getVerifySendingDomainMethod = AdminServiceGrpc.getVerifySendingDomainMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getVerifySendingDomainMethod = AdminServiceGrpc.getVerifySendingDomainMethod) == null) {
          AdminServiceGrpc.getVerifySendingDomainMethod = getVerifySendingDomainMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.VerifySendingDomainRequest, io.postwave.v1.SendingDomain>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "VerifySendingDomain"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.VerifySendingDomainRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendingDomain.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("VerifySendingDomain"))
              .build();
        }
      }
    }
    return getVerifySendingDomainMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.RotateDkimKeysRequest,
      io.postwave.v1.SendingDomain> getRotateDkimKeysMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RotateDkimKeys",
      requestType = io.postwave.v1.RotateDkimKeysRequest.class,
      responseType = io.postwave.v1.SendingDomain.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.RotateDkimKeysRequest,
      io.postwave.v1.SendingDomain> getRotateDkimKeysMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.RotateDkimKeysRequest, io.postwave.v1.SendingDomain> getRotateDkimKeysMethod;
    if ((getRotateDkimKeysMethod = AdminServiceGrpc.getRotateDkimKeysMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getRotateDkimKeysMethod = AdminServiceGrpc.getRotateDkimKeysMethod) == null) {
          AdminServiceGrpc.getRotateDkimKeysMethod = getRotateDkimKeysMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.RotateDkimKeysRequest, io.postwave.v1.SendingDomain>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RotateDkimKeys"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RotateDkimKeysRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendingDomain.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("RotateDkimKeys"))
              .build();
        }
      }
    }
    return getRotateDkimKeysMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.CreateWebhookRequest,
      io.postwave.v1.Webhook> getCreateWebhookMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateWebhook",
      requestType = io.postwave.v1.CreateWebhookRequest.class,
      responseType = io.postwave.v1.Webhook.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.CreateWebhookRequest,
      io.postwave.v1.Webhook> getCreateWebhookMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.CreateWebhookRequest, io.postwave.v1.Webhook> getCreateWebhookMethod;
    if ((getCreateWebhookMethod = AdminServiceGrpc.getCreateWebhookMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateWebhookMethod = AdminServiceGrpc.getCreateWebhookMethod) == null) {
          AdminServiceGrpc.getCreateWebhookMethod = getCreateWebhookMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.CreateWebhookRequest, io.postwave.v1.Webhook>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateWebhook"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CreateWebhookRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Webhook.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("CreateWebhook"))
              .build();
        }
      }
    }
    return getCreateWebhookMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ListWebhooksRequest,
      io.postwave.v1.ListWebhooksResponse> getListWebhooksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListWebhooks",
      requestType = io.postwave.v1.ListWebhooksRequest.class,
      responseType = io.postwave.v1.ListWebhooksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ListWebhooksRequest,
      io.postwave.v1.ListWebhooksResponse> getListWebhooksMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ListWebhooksRequest, io.postwave.v1.ListWebhooksResponse> getListWebhooksMethod;
    if ((getListWebhooksMethod = AdminServiceGrpc.getListWebhooksMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListWebhooksMethod = AdminServiceGrpc.getListWebhooksMethod) == null) {
          AdminServiceGrpc.getListWebhooksMethod = getListWebhooksMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ListWebhooksRequest, io.postwave.v1.ListWebhooksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListWebhooks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListWebhooksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListWebhooksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ListWebhooks"))
              .build();
        }
      }
    }
    return getListWebhooksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.DeleteWebhookRequest,
      io.postwave.v1.DeleteWebhookResponse> getDeleteWebhookMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteWebhook",
      requestType = io.postwave.v1.DeleteWebhookRequest.class,
      responseType = io.postwave.v1.DeleteWebhookResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.DeleteWebhookRequest,
      io.postwave.v1.DeleteWebhookResponse> getDeleteWebhookMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.DeleteWebhookRequest, io.postwave.v1.DeleteWebhookResponse> getDeleteWebhookMethod;
    if ((getDeleteWebhookMethod = AdminServiceGrpc.getDeleteWebhookMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteWebhookMethod = AdminServiceGrpc.getDeleteWebhookMethod) == null) {
          AdminServiceGrpc.getDeleteWebhookMethod = getDeleteWebhookMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.DeleteWebhookRequest, io.postwave.v1.DeleteWebhookResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteWebhook"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.DeleteWebhookRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.DeleteWebhookResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("DeleteWebhook"))
              .build();
        }
      }
    }
    return getDeleteWebhookMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.RotateWebhookSecretRequest,
      io.postwave.v1.Webhook> getRotateWebhookSecretMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RotateWebhookSecret",
      requestType = io.postwave.v1.RotateWebhookSecretRequest.class,
      responseType = io.postwave.v1.Webhook.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.RotateWebhookSecretRequest,
      io.postwave.v1.Webhook> getRotateWebhookSecretMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.RotateWebhookSecretRequest, io.postwave.v1.Webhook> getRotateWebhookSecretMethod;
    if ((getRotateWebhookSecretMethod = AdminServiceGrpc.getRotateWebhookSecretMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getRotateWebhookSecretMethod = AdminServiceGrpc.getRotateWebhookSecretMethod) == null) {
          AdminServiceGrpc.getRotateWebhookSecretMethod = getRotateWebhookSecretMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.RotateWebhookSecretRequest, io.postwave.v1.Webhook>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RotateWebhookSecret"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RotateWebhookSecretRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Webhook.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("RotateWebhookSecret"))
              .build();
        }
      }
    }
    return getRotateWebhookSecretMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.TestWebhookRequest,
      io.postwave.v1.TestWebhookResponse> getTestWebhookMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "TestWebhook",
      requestType = io.postwave.v1.TestWebhookRequest.class,
      responseType = io.postwave.v1.TestWebhookResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.TestWebhookRequest,
      io.postwave.v1.TestWebhookResponse> getTestWebhookMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.TestWebhookRequest, io.postwave.v1.TestWebhookResponse> getTestWebhookMethod;
    if ((getTestWebhookMethod = AdminServiceGrpc.getTestWebhookMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getTestWebhookMethod = AdminServiceGrpc.getTestWebhookMethod) == null) {
          AdminServiceGrpc.getTestWebhookMethod = getTestWebhookMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.TestWebhookRequest, io.postwave.v1.TestWebhookResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "TestWebhook"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.TestWebhookRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.TestWebhookResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("TestWebhook"))
              .build();
        }
      }
    }
    return getTestWebhookMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.RedriveWebhookRequest,
      io.postwave.v1.Webhook> getRedriveWebhookMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RedriveWebhook",
      requestType = io.postwave.v1.RedriveWebhookRequest.class,
      responseType = io.postwave.v1.Webhook.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.RedriveWebhookRequest,
      io.postwave.v1.Webhook> getRedriveWebhookMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.RedriveWebhookRequest, io.postwave.v1.Webhook> getRedriveWebhookMethod;
    if ((getRedriveWebhookMethod = AdminServiceGrpc.getRedriveWebhookMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getRedriveWebhookMethod = AdminServiceGrpc.getRedriveWebhookMethod) == null) {
          AdminServiceGrpc.getRedriveWebhookMethod = getRedriveWebhookMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.RedriveWebhookRequest, io.postwave.v1.Webhook>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RedriveWebhook"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RedriveWebhookRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Webhook.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("RedriveWebhook"))
              .build();
        }
      }
    }
    return getRedriveWebhookMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.EraseRecipientRequest,
      io.postwave.v1.EraseRecipientResponse> getEraseRecipientMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EraseRecipient",
      requestType = io.postwave.v1.EraseRecipientRequest.class,
      responseType = io.postwave.v1.EraseRecipientResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.EraseRecipientRequest,
      io.postwave.v1.EraseRecipientResponse> getEraseRecipientMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.EraseRecipientRequest, io.postwave.v1.EraseRecipientResponse> getEraseRecipientMethod;
    if ((getEraseRecipientMethod = AdminServiceGrpc.getEraseRecipientMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getEraseRecipientMethod = AdminServiceGrpc.getEraseRecipientMethod) == null) {
          AdminServiceGrpc.getEraseRecipientMethod = getEraseRecipientMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.EraseRecipientRequest, io.postwave.v1.EraseRecipientResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EraseRecipient"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.EraseRecipientRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.EraseRecipientResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("EraseRecipient"))
              .build();
        }
      }
    }
    return getEraseRecipientMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.AddSuppressionsRequest,
      io.postwave.v1.AddSuppressionsResponse> getAddSuppressionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddSuppressions",
      requestType = io.postwave.v1.AddSuppressionsRequest.class,
      responseType = io.postwave.v1.AddSuppressionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.AddSuppressionsRequest,
      io.postwave.v1.AddSuppressionsResponse> getAddSuppressionsMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.AddSuppressionsRequest, io.postwave.v1.AddSuppressionsResponse> getAddSuppressionsMethod;
    if ((getAddSuppressionsMethod = AdminServiceGrpc.getAddSuppressionsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getAddSuppressionsMethod = AdminServiceGrpc.getAddSuppressionsMethod) == null) {
          AdminServiceGrpc.getAddSuppressionsMethod = getAddSuppressionsMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.AddSuppressionsRequest, io.postwave.v1.AddSuppressionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddSuppressions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.AddSuppressionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.AddSuppressionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("AddSuppressions"))
              .build();
        }
      }
    }
    return getAddSuppressionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.GetSuppressionRequest,
      io.postwave.v1.Suppression> getGetSuppressionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSuppression",
      requestType = io.postwave.v1.GetSuppressionRequest.class,
      responseType = io.postwave.v1.Suppression.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.GetSuppressionRequest,
      io.postwave.v1.Suppression> getGetSuppressionMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.GetSuppressionRequest, io.postwave.v1.Suppression> getGetSuppressionMethod;
    if ((getGetSuppressionMethod = AdminServiceGrpc.getGetSuppressionMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetSuppressionMethod = AdminServiceGrpc.getGetSuppressionMethod) == null) {
          AdminServiceGrpc.getGetSuppressionMethod = getGetSuppressionMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.GetSuppressionRequest, io.postwave.v1.Suppression>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSuppression"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.GetSuppressionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Suppression.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("GetSuppression"))
              .build();
        }
      }
    }
    return getGetSuppressionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ListSuppressionsRequest,
      io.postwave.v1.ListSuppressionsResponse> getListSuppressionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListSuppressions",
      requestType = io.postwave.v1.ListSuppressionsRequest.class,
      responseType = io.postwave.v1.ListSuppressionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ListSuppressionsRequest,
      io.postwave.v1.ListSuppressionsResponse> getListSuppressionsMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ListSuppressionsRequest, io.postwave.v1.ListSuppressionsResponse> getListSuppressionsMethod;
    if ((getListSuppressionsMethod = AdminServiceGrpc.getListSuppressionsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListSuppressionsMethod = AdminServiceGrpc.getListSuppressionsMethod) == null) {
          AdminServiceGrpc.getListSuppressionsMethod = getListSuppressionsMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ListSuppressionsRequest, io.postwave.v1.ListSuppressionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListSuppressions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListSuppressionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ListSuppressionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ListSuppressions"))
              .build();
        }
      }
    }
    return getListSuppressionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.RemoveSuppressionRequest,
      io.postwave.v1.Suppression> getRemoveSuppressionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RemoveSuppression",
      requestType = io.postwave.v1.RemoveSuppressionRequest.class,
      responseType = io.postwave.v1.Suppression.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.RemoveSuppressionRequest,
      io.postwave.v1.Suppression> getRemoveSuppressionMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.RemoveSuppressionRequest, io.postwave.v1.Suppression> getRemoveSuppressionMethod;
    if ((getRemoveSuppressionMethod = AdminServiceGrpc.getRemoveSuppressionMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getRemoveSuppressionMethod = AdminServiceGrpc.getRemoveSuppressionMethod) == null) {
          AdminServiceGrpc.getRemoveSuppressionMethod = getRemoveSuppressionMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.RemoveSuppressionRequest, io.postwave.v1.Suppression>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RemoveSuppression"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.RemoveSuppressionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.Suppression.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("RemoveSuppression"))
              .build();
        }
      }
    }
    return getRemoveSuppressionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.GetTenantBreakerRequest,
      io.postwave.v1.TenantBreaker> getGetTenantBreakerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetTenantBreaker",
      requestType = io.postwave.v1.GetTenantBreakerRequest.class,
      responseType = io.postwave.v1.TenantBreaker.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.GetTenantBreakerRequest,
      io.postwave.v1.TenantBreaker> getGetTenantBreakerMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.GetTenantBreakerRequest, io.postwave.v1.TenantBreaker> getGetTenantBreakerMethod;
    if ((getGetTenantBreakerMethod = AdminServiceGrpc.getGetTenantBreakerMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetTenantBreakerMethod = AdminServiceGrpc.getGetTenantBreakerMethod) == null) {
          AdminServiceGrpc.getGetTenantBreakerMethod = getGetTenantBreakerMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.GetTenantBreakerRequest, io.postwave.v1.TenantBreaker>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetTenantBreaker"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.GetTenantBreakerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.TenantBreaker.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("GetTenantBreaker"))
              .build();
        }
      }
    }
    return getGetTenantBreakerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.ResumeTenantBreakerRequest,
      io.postwave.v1.TenantBreaker> getResumeTenantBreakerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ResumeTenantBreaker",
      requestType = io.postwave.v1.ResumeTenantBreakerRequest.class,
      responseType = io.postwave.v1.TenantBreaker.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.ResumeTenantBreakerRequest,
      io.postwave.v1.TenantBreaker> getResumeTenantBreakerMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.ResumeTenantBreakerRequest, io.postwave.v1.TenantBreaker> getResumeTenantBreakerMethod;
    if ((getResumeTenantBreakerMethod = AdminServiceGrpc.getResumeTenantBreakerMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getResumeTenantBreakerMethod = AdminServiceGrpc.getResumeTenantBreakerMethod) == null) {
          AdminServiceGrpc.getResumeTenantBreakerMethod = getResumeTenantBreakerMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.ResumeTenantBreakerRequest, io.postwave.v1.TenantBreaker>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ResumeTenantBreaker"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.ResumeTenantBreakerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.TenantBreaker.getDefaultInstance()))
              .setSchemaDescriptor(new AdminServiceMethodDescriptorSupplier("ResumeTenantBreaker"))
              .build();
        }
      }
    }
    return getResumeTenantBreakerMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static AdminServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceStub>() {
        @java.lang.Override
        public AdminServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceStub(channel, callOptions);
        }
      };
    return AdminServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static AdminServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingV2Stub>() {
        @java.lang.Override
        public AdminServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return AdminServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static AdminServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingStub>() {
        @java.lang.Override
        public AdminServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceBlockingStub(channel, callOptions);
        }
      };
    return AdminServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static AdminServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceFutureStub>() {
        @java.lang.Override
        public AdminServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceFutureStub(channel, callOptions);
        }
      };
    return AdminServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
   * </pre>
   */
  public interface AsyncService {

    /**
     */
    default void createTenant(io.postwave.v1.CreateTenantRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Tenant> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateTenantMethod(), responseObserver);
    }

    /**
     */
    default void listTenants(io.postwave.v1.ListTenantsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListTenantsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListTenantsMethod(), responseObserver);
    }

    /**
     */
    default void createApiKey(io.postwave.v1.CreateApiKeyRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.CreateApiKeyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateApiKeyMethod(), responseObserver);
    }

    /**
     */
    default void listApiKeys(io.postwave.v1.ListApiKeysRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListApiKeysResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListApiKeysMethod(), responseObserver);
    }

    /**
     */
    default void revokeApiKey(io.postwave.v1.RevokeApiKeyRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ApiKey> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRevokeApiKeyMethod(), responseObserver);
    }

    /**
     */
    default void createTemplate(io.postwave.v1.CreateTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Template> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateTemplateMethod(), responseObserver);
    }

    /**
     */
    default void getTemplate(io.postwave.v1.GetTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Template> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetTemplateMethod(), responseObserver);
    }

    /**
     */
    default void listTemplates(io.postwave.v1.ListTemplatesRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListTemplatesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListTemplatesMethod(), responseObserver);
    }

    /**
     */
    default void deleteTemplate(io.postwave.v1.DeleteTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.DeleteTemplateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteTemplateMethod(), responseObserver);
    }

    /**
     */
    default void renderTemplate(io.postwave.v1.RenderTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.RenderTemplateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRenderTemplateMethod(), responseObserver);
    }

    /**
     * <pre>
     * --- sending domains (deliverability) ---
     * AddSendingDomain registers a From domain, generates its DKIM keys (RSA-2048 and Ed25519 by
     * default; private keys encrypted at rest) and returns the DNS records to publish.
     * </pre>
     */
    default void addSendingDomain(io.postwave.v1.AddSendingDomainRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddSendingDomainMethod(), responseObserver);
    }

    /**
     */
    default void listSendingDomains(io.postwave.v1.ListSendingDomainsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListSendingDomainsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListSendingDomainsMethod(), responseObserver);
    }

    /**
     */
    default void getSendingDomain(io.postwave.v1.GetSendingDomainRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSendingDomainMethod(), responseObserver);
    }

    /**
     * <pre>
     * VerifySendingDomain checks every record against DNS now; each record reports what is
     * missing or wrong. A verified domain may send; a new DKIM selector found published becomes active.
     * </pre>
     */
    default void verifySendingDomain(io.postwave.v1.VerifySendingDomainRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getVerifySendingDomainMethod(), responseObserver);
    }

    /**
     * <pre>
     * RotateDkimKeys adds a new selector per algorithm; it signs once a verification finds it
     * published, and the old selector then retires after a grace period.
     * </pre>
     */
    default void rotateDkimKeys(io.postwave.v1.RotateDkimKeysRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRotateDkimKeysMethod(), responseObserver);
    }

    /**
     * <pre>
     * --- webhooks and erasure (tracking) ---
     * CreateWebhook adds an endpoint; the response holds its signing secret (Standard Webhooks).
     * </pre>
     */
    default void createWebhook(io.postwave.v1.CreateWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Webhook> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateWebhookMethod(), responseObserver);
    }

    /**
     */
    default void listWebhooks(io.postwave.v1.ListWebhooksRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListWebhooksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListWebhooksMethod(), responseObserver);
    }

    /**
     */
    default void deleteWebhook(io.postwave.v1.DeleteWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.DeleteWebhookResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteWebhookMethod(), responseObserver);
    }

    /**
     * <pre>
     * RotateWebhookSecret issues a new secret; requests are signed with both until the old one expires.
     * </pre>
     */
    default void rotateWebhookSecret(io.postwave.v1.RotateWebhookSecretRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Webhook> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRotateWebhookSecretMethod(), responseObserver);
    }

    /**
     * <pre>
     * TestWebhook sends one signed sample event to the endpoint now and reports the answer.
     * </pre>
     */
    default void testWebhook(io.postwave.v1.TestWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.TestWebhookResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getTestWebhookMethod(), responseObserver);
    }

    /**
     * <pre>
     * RedriveWebhook re-enables an endpoint and delivers again from after its last delivered event
     * (or after `after_event_id`, to replay events the receiver lost).
     * </pre>
     */
    default void redriveWebhook(io.postwave.v1.RedriveWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Webhook> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRedriveWebhookMethod(), responseObserver);
    }

    /**
     * <pre>
     * EraseRecipient removes a recipient's personal data from the tenant's messages and events
     * (right to erasure); a suppression of the address is kept, as a hash.
     * </pre>
     */
    default void eraseRecipient(io.postwave.v1.EraseRecipientRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.EraseRecipientResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEraseRecipientMethod(), responseObserver);
    }

    /**
     * <pre>
     * --- suppressions (storage) ---
     * AddSuppressions suppresses addresses for the tenant (up to 1,000 per call, all or none):
     * mail to them is dropped at acceptance and again just before sending. An entry given
     * `expires` is temporary and lifts itself then.
     * </pre>
     */
    default void addSuppressions(io.postwave.v1.AddSuppressionsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.AddSuppressionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddSuppressionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetSuppression answers whether an address is suppressed, and why (reason, the event that
     * caused it, when, until when); NOT_FOUND if it is not.
     * </pre>
     */
    default void getSuppression(io.postwave.v1.GetSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Suppression> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSuppressionMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListSuppressions pages through the tenant's live suppressions.
     * </pre>
     */
    default void listSuppressions(io.postwave.v1.ListSuppressionsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListSuppressionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListSuppressionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * RemoveSuppression lifts a suppression and returns what it was; NOT_FOUND if there was none.
     * </pre>
     */
    default void removeSuppression(io.postwave.v1.RemoveSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Suppression> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRemoveSuppressionMethod(), responseObserver);
    }

    /**
     * <pre>
     * --- tenant circuit breakers (reputation) ---
     * GetTenantBreaker shows a tenant's circuit breaker: its level and why, each stream's
     * deliveries, bounces and complaints over the sliding window, and its transitions, newest
     * first. A tenant may read its own; operator keys any tenant's.
     * </pre>
     */
    default void getTenantBreaker(io.postwave.v1.GetTenantBreakerRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.TenantBreaker> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetTenantBreakerMethod(), responseObserver);
    }

    /**
     * <pre>
     * ResumeTenantBreaker lifts a tripped breaker (operator keys only): everything, or one
     * stream (transactional mail of a paused tenant; the bulk stream of a tenant whose bulk
     * alone is paused). Held messages go out again; counting starts afresh. Recorded in the
     * audit history and as a breaker.resumed event.
     * </pre>
     */
    default void resumeTenantBreaker(io.postwave.v1.ResumeTenantBreakerRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.TenantBreaker> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getResumeTenantBreakerMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service AdminService.
   * <pre>
   * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
   * </pre>
   */
  public static abstract class AdminServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return AdminServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service AdminService.
   * <pre>
   * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
   * </pre>
   */
  public static final class AdminServiceStub
      extends io.grpc.stub.AbstractAsyncStub<AdminServiceStub> {
    private AdminServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceStub(channel, callOptions);
    }

    /**
     */
    public void createTenant(io.postwave.v1.CreateTenantRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Tenant> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateTenantMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listTenants(io.postwave.v1.ListTenantsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListTenantsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListTenantsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void createApiKey(io.postwave.v1.CreateApiKeyRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.CreateApiKeyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateApiKeyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listApiKeys(io.postwave.v1.ListApiKeysRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListApiKeysResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListApiKeysMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void revokeApiKey(io.postwave.v1.RevokeApiKeyRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ApiKey> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRevokeApiKeyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void createTemplate(io.postwave.v1.CreateTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Template> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateTemplateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void getTemplate(io.postwave.v1.GetTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Template> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetTemplateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listTemplates(io.postwave.v1.ListTemplatesRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListTemplatesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListTemplatesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void deleteTemplate(io.postwave.v1.DeleteTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.DeleteTemplateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteTemplateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void renderTemplate(io.postwave.v1.RenderTemplateRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.RenderTemplateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRenderTemplateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * --- sending domains (deliverability) ---
     * AddSendingDomain registers a From domain, generates its DKIM keys (RSA-2048 and Ed25519 by
     * default; private keys encrypted at rest) and returns the DNS records to publish.
     * </pre>
     */
    public void addSendingDomain(io.postwave.v1.AddSendingDomainRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddSendingDomainMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listSendingDomains(io.postwave.v1.ListSendingDomainsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListSendingDomainsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListSendingDomainsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void getSendingDomain(io.postwave.v1.GetSendingDomainRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSendingDomainMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * VerifySendingDomain checks every record against DNS now; each record reports what is
     * missing or wrong. A verified domain may send; a new DKIM selector found published becomes active.
     * </pre>
     */
    public void verifySendingDomain(io.postwave.v1.VerifySendingDomainRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getVerifySendingDomainMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RotateDkimKeys adds a new selector per algorithm; it signs once a verification finds it
     * published, and the old selector then retires after a grace period.
     * </pre>
     */
    public void rotateDkimKeys(io.postwave.v1.RotateDkimKeysRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRotateDkimKeysMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * --- webhooks and erasure (tracking) ---
     * CreateWebhook adds an endpoint; the response holds its signing secret (Standard Webhooks).
     * </pre>
     */
    public void createWebhook(io.postwave.v1.CreateWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Webhook> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateWebhookMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listWebhooks(io.postwave.v1.ListWebhooksRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListWebhooksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListWebhooksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void deleteWebhook(io.postwave.v1.DeleteWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.DeleteWebhookResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteWebhookMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RotateWebhookSecret issues a new secret; requests are signed with both until the old one expires.
     * </pre>
     */
    public void rotateWebhookSecret(io.postwave.v1.RotateWebhookSecretRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Webhook> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRotateWebhookSecretMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * TestWebhook sends one signed sample event to the endpoint now and reports the answer.
     * </pre>
     */
    public void testWebhook(io.postwave.v1.TestWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.TestWebhookResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getTestWebhookMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RedriveWebhook re-enables an endpoint and delivers again from after its last delivered event
     * (or after `after_event_id`, to replay events the receiver lost).
     * </pre>
     */
    public void redriveWebhook(io.postwave.v1.RedriveWebhookRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Webhook> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRedriveWebhookMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * EraseRecipient removes a recipient's personal data from the tenant's messages and events
     * (right to erasure); a suppression of the address is kept, as a hash.
     * </pre>
     */
    public void eraseRecipient(io.postwave.v1.EraseRecipientRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.EraseRecipientResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEraseRecipientMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * --- suppressions (storage) ---
     * AddSuppressions suppresses addresses for the tenant (up to 1,000 per call, all or none):
     * mail to them is dropped at acceptance and again just before sending. An entry given
     * `expires` is temporary and lifts itself then.
     * </pre>
     */
    public void addSuppressions(io.postwave.v1.AddSuppressionsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.AddSuppressionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddSuppressionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetSuppression answers whether an address is suppressed, and why (reason, the event that
     * caused it, when, until when); NOT_FOUND if it is not.
     * </pre>
     */
    public void getSuppression(io.postwave.v1.GetSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Suppression> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSuppressionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListSuppressions pages through the tenant's live suppressions.
     * </pre>
     */
    public void listSuppressions(io.postwave.v1.ListSuppressionsRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.ListSuppressionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListSuppressionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RemoveSuppression lifts a suppression and returns what it was; NOT_FOUND if there was none.
     * </pre>
     */
    public void removeSuppression(io.postwave.v1.RemoveSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.Suppression> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRemoveSuppressionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * --- tenant circuit breakers (reputation) ---
     * GetTenantBreaker shows a tenant's circuit breaker: its level and why, each stream's
     * deliveries, bounces and complaints over the sliding window, and its transitions, newest
     * first. A tenant may read its own; operator keys any tenant's.
     * </pre>
     */
    public void getTenantBreaker(io.postwave.v1.GetTenantBreakerRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.TenantBreaker> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetTenantBreakerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ResumeTenantBreaker lifts a tripped breaker (operator keys only): everything, or one
     * stream (transactional mail of a paused tenant; the bulk stream of a tenant whose bulk
     * alone is paused). Held messages go out again; counting starts afresh. Recorded in the
     * audit history and as a breaker.resumed event.
     * </pre>
     */
    public void resumeTenantBreaker(io.postwave.v1.ResumeTenantBreakerRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.TenantBreaker> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getResumeTenantBreakerMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service AdminService.
   * <pre>
   * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
   * </pre>
   */
  public static final class AdminServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<AdminServiceBlockingV2Stub> {
    private AdminServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     */
    public io.postwave.v1.Tenant createTenant(io.postwave.v1.CreateTenantRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateTenantMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListTenantsResponse listTenants(io.postwave.v1.ListTenantsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListTenantsMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.CreateApiKeyResponse createApiKey(io.postwave.v1.CreateApiKeyRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateApiKeyMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListApiKeysResponse listApiKeys(io.postwave.v1.ListApiKeysRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListApiKeysMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ApiKey revokeApiKey(io.postwave.v1.RevokeApiKeyRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRevokeApiKeyMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.Template createTemplate(io.postwave.v1.CreateTemplateRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateTemplateMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.Template getTemplate(io.postwave.v1.GetTemplateRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetTemplateMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListTemplatesResponse listTemplates(io.postwave.v1.ListTemplatesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListTemplatesMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.DeleteTemplateResponse deleteTemplate(io.postwave.v1.DeleteTemplateRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteTemplateMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.RenderTemplateResponse renderTemplate(io.postwave.v1.RenderTemplateRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRenderTemplateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- sending domains (deliverability) ---
     * AddSendingDomain registers a From domain, generates its DKIM keys (RSA-2048 and Ed25519 by
     * default; private keys encrypted at rest) and returns the DNS records to publish.
     * </pre>
     */
    public io.postwave.v1.SendingDomain addSendingDomain(io.postwave.v1.AddSendingDomainRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddSendingDomainMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListSendingDomainsResponse listSendingDomains(io.postwave.v1.ListSendingDomainsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListSendingDomainsMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.SendingDomain getSendingDomain(io.postwave.v1.GetSendingDomainRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSendingDomainMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * VerifySendingDomain checks every record against DNS now; each record reports what is
     * missing or wrong. A verified domain may send; a new DKIM selector found published becomes active.
     * </pre>
     */
    public io.postwave.v1.SendingDomain verifySendingDomain(io.postwave.v1.VerifySendingDomainRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getVerifySendingDomainMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RotateDkimKeys adds a new selector per algorithm; it signs once a verification finds it
     * published, and the old selector then retires after a grace period.
     * </pre>
     */
    public io.postwave.v1.SendingDomain rotateDkimKeys(io.postwave.v1.RotateDkimKeysRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRotateDkimKeysMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- webhooks and erasure (tracking) ---
     * CreateWebhook adds an endpoint; the response holds its signing secret (Standard Webhooks).
     * </pre>
     */
    public io.postwave.v1.Webhook createWebhook(io.postwave.v1.CreateWebhookRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateWebhookMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListWebhooksResponse listWebhooks(io.postwave.v1.ListWebhooksRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListWebhooksMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.DeleteWebhookResponse deleteWebhook(io.postwave.v1.DeleteWebhookRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteWebhookMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RotateWebhookSecret issues a new secret; requests are signed with both until the old one expires.
     * </pre>
     */
    public io.postwave.v1.Webhook rotateWebhookSecret(io.postwave.v1.RotateWebhookSecretRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRotateWebhookSecretMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * TestWebhook sends one signed sample event to the endpoint now and reports the answer.
     * </pre>
     */
    public io.postwave.v1.TestWebhookResponse testWebhook(io.postwave.v1.TestWebhookRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getTestWebhookMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RedriveWebhook re-enables an endpoint and delivers again from after its last delivered event
     * (or after `after_event_id`, to replay events the receiver lost).
     * </pre>
     */
    public io.postwave.v1.Webhook redriveWebhook(io.postwave.v1.RedriveWebhookRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRedriveWebhookMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * EraseRecipient removes a recipient's personal data from the tenant's messages and events
     * (right to erasure); a suppression of the address is kept, as a hash.
     * </pre>
     */
    public io.postwave.v1.EraseRecipientResponse eraseRecipient(io.postwave.v1.EraseRecipientRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getEraseRecipientMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- suppressions (storage) ---
     * AddSuppressions suppresses addresses for the tenant (up to 1,000 per call, all or none):
     * mail to them is dropped at acceptance and again just before sending. An entry given
     * `expires` is temporary and lifts itself then.
     * </pre>
     */
    public io.postwave.v1.AddSuppressionsResponse addSuppressions(io.postwave.v1.AddSuppressionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddSuppressionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSuppression answers whether an address is suppressed, and why (reason, the event that
     * caused it, when, until when); NOT_FOUND if it is not.
     * </pre>
     */
    public io.postwave.v1.Suppression getSuppression(io.postwave.v1.GetSuppressionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSuppressionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListSuppressions pages through the tenant's live suppressions.
     * </pre>
     */
    public io.postwave.v1.ListSuppressionsResponse listSuppressions(io.postwave.v1.ListSuppressionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListSuppressionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RemoveSuppression lifts a suppression and returns what it was; NOT_FOUND if there was none.
     * </pre>
     */
    public io.postwave.v1.Suppression removeSuppression(io.postwave.v1.RemoveSuppressionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRemoveSuppressionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- tenant circuit breakers (reputation) ---
     * GetTenantBreaker shows a tenant's circuit breaker: its level and why, each stream's
     * deliveries, bounces and complaints over the sliding window, and its transitions, newest
     * first. A tenant may read its own; operator keys any tenant's.
     * </pre>
     */
    public io.postwave.v1.TenantBreaker getTenantBreaker(io.postwave.v1.GetTenantBreakerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetTenantBreakerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ResumeTenantBreaker lifts a tripped breaker (operator keys only): everything, or one
     * stream (transactional mail of a paused tenant; the bulk stream of a tenant whose bulk
     * alone is paused). Held messages go out again; counting starts afresh. Recorded in the
     * audit history and as a breaker.resumed event.
     * </pre>
     */
    public io.postwave.v1.TenantBreaker resumeTenantBreaker(io.postwave.v1.ResumeTenantBreakerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getResumeTenantBreakerMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service AdminService.
   * <pre>
   * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
   * </pre>
   */
  public static final class AdminServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<AdminServiceBlockingStub> {
    private AdminServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceBlockingStub(channel, callOptions);
    }

    /**
     */
    public io.postwave.v1.Tenant createTenant(io.postwave.v1.CreateTenantRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateTenantMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListTenantsResponse listTenants(io.postwave.v1.ListTenantsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListTenantsMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.CreateApiKeyResponse createApiKey(io.postwave.v1.CreateApiKeyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateApiKeyMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListApiKeysResponse listApiKeys(io.postwave.v1.ListApiKeysRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListApiKeysMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ApiKey revokeApiKey(io.postwave.v1.RevokeApiKeyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRevokeApiKeyMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.Template createTemplate(io.postwave.v1.CreateTemplateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateTemplateMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.Template getTemplate(io.postwave.v1.GetTemplateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetTemplateMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListTemplatesResponse listTemplates(io.postwave.v1.ListTemplatesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListTemplatesMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.DeleteTemplateResponse deleteTemplate(io.postwave.v1.DeleteTemplateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteTemplateMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.RenderTemplateResponse renderTemplate(io.postwave.v1.RenderTemplateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRenderTemplateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- sending domains (deliverability) ---
     * AddSendingDomain registers a From domain, generates its DKIM keys (RSA-2048 and Ed25519 by
     * default; private keys encrypted at rest) and returns the DNS records to publish.
     * </pre>
     */
    public io.postwave.v1.SendingDomain addSendingDomain(io.postwave.v1.AddSendingDomainRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddSendingDomainMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListSendingDomainsResponse listSendingDomains(io.postwave.v1.ListSendingDomainsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListSendingDomainsMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.SendingDomain getSendingDomain(io.postwave.v1.GetSendingDomainRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSendingDomainMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * VerifySendingDomain checks every record against DNS now; each record reports what is
     * missing or wrong. A verified domain may send; a new DKIM selector found published becomes active.
     * </pre>
     */
    public io.postwave.v1.SendingDomain verifySendingDomain(io.postwave.v1.VerifySendingDomainRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getVerifySendingDomainMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RotateDkimKeys adds a new selector per algorithm; it signs once a verification finds it
     * published, and the old selector then retires after a grace period.
     * </pre>
     */
    public io.postwave.v1.SendingDomain rotateDkimKeys(io.postwave.v1.RotateDkimKeysRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRotateDkimKeysMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- webhooks and erasure (tracking) ---
     * CreateWebhook adds an endpoint; the response holds its signing secret (Standard Webhooks).
     * </pre>
     */
    public io.postwave.v1.Webhook createWebhook(io.postwave.v1.CreateWebhookRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateWebhookMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.ListWebhooksResponse listWebhooks(io.postwave.v1.ListWebhooksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListWebhooksMethod(), getCallOptions(), request);
    }

    /**
     */
    public io.postwave.v1.DeleteWebhookResponse deleteWebhook(io.postwave.v1.DeleteWebhookRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteWebhookMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RotateWebhookSecret issues a new secret; requests are signed with both until the old one expires.
     * </pre>
     */
    public io.postwave.v1.Webhook rotateWebhookSecret(io.postwave.v1.RotateWebhookSecretRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRotateWebhookSecretMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * TestWebhook sends one signed sample event to the endpoint now and reports the answer.
     * </pre>
     */
    public io.postwave.v1.TestWebhookResponse testWebhook(io.postwave.v1.TestWebhookRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getTestWebhookMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RedriveWebhook re-enables an endpoint and delivers again from after its last delivered event
     * (or after `after_event_id`, to replay events the receiver lost).
     * </pre>
     */
    public io.postwave.v1.Webhook redriveWebhook(io.postwave.v1.RedriveWebhookRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRedriveWebhookMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * EraseRecipient removes a recipient's personal data from the tenant's messages and events
     * (right to erasure); a suppression of the address is kept, as a hash.
     * </pre>
     */
    public io.postwave.v1.EraseRecipientResponse eraseRecipient(io.postwave.v1.EraseRecipientRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEraseRecipientMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- suppressions (storage) ---
     * AddSuppressions suppresses addresses for the tenant (up to 1,000 per call, all or none):
     * mail to them is dropped at acceptance and again just before sending. An entry given
     * `expires` is temporary and lifts itself then.
     * </pre>
     */
    public io.postwave.v1.AddSuppressionsResponse addSuppressions(io.postwave.v1.AddSuppressionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddSuppressionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSuppression answers whether an address is suppressed, and why (reason, the event that
     * caused it, when, until when); NOT_FOUND if it is not.
     * </pre>
     */
    public io.postwave.v1.Suppression getSuppression(io.postwave.v1.GetSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSuppressionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListSuppressions pages through the tenant's live suppressions.
     * </pre>
     */
    public io.postwave.v1.ListSuppressionsResponse listSuppressions(io.postwave.v1.ListSuppressionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListSuppressionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RemoveSuppression lifts a suppression and returns what it was; NOT_FOUND if there was none.
     * </pre>
     */
    public io.postwave.v1.Suppression removeSuppression(io.postwave.v1.RemoveSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRemoveSuppressionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * --- tenant circuit breakers (reputation) ---
     * GetTenantBreaker shows a tenant's circuit breaker: its level and why, each stream's
     * deliveries, bounces and complaints over the sliding window, and its transitions, newest
     * first. A tenant may read its own; operator keys any tenant's.
     * </pre>
     */
    public io.postwave.v1.TenantBreaker getTenantBreaker(io.postwave.v1.GetTenantBreakerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetTenantBreakerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ResumeTenantBreaker lifts a tripped breaker (operator keys only): everything, or one
     * stream (transactional mail of a paused tenant; the bulk stream of a tenant whose bulk
     * alone is paused). Held messages go out again; counting starts afresh. Recorded in the
     * audit history and as a breaker.resumed event.
     * </pre>
     */
    public io.postwave.v1.TenantBreaker resumeTenantBreaker(io.postwave.v1.ResumeTenantBreakerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getResumeTenantBreakerMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service AdminService.
   * <pre>
   * AdminService manages tenants (operator keys only), and a tenant's own keys and templates.
   * </pre>
   */
  public static final class AdminServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<AdminServiceFutureStub> {
    private AdminServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceFutureStub(channel, callOptions);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Tenant> createTenant(
        io.postwave.v1.CreateTenantRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateTenantMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ListTenantsResponse> listTenants(
        io.postwave.v1.ListTenantsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListTenantsMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.CreateApiKeyResponse> createApiKey(
        io.postwave.v1.CreateApiKeyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateApiKeyMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ListApiKeysResponse> listApiKeys(
        io.postwave.v1.ListApiKeysRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListApiKeysMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ApiKey> revokeApiKey(
        io.postwave.v1.RevokeApiKeyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRevokeApiKeyMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Template> createTemplate(
        io.postwave.v1.CreateTemplateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateTemplateMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Template> getTemplate(
        io.postwave.v1.GetTemplateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetTemplateMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ListTemplatesResponse> listTemplates(
        io.postwave.v1.ListTemplatesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListTemplatesMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.DeleteTemplateResponse> deleteTemplate(
        io.postwave.v1.DeleteTemplateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteTemplateMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.RenderTemplateResponse> renderTemplate(
        io.postwave.v1.RenderTemplateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRenderTemplateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * --- sending domains (deliverability) ---
     * AddSendingDomain registers a From domain, generates its DKIM keys (RSA-2048 and Ed25519 by
     * default; private keys encrypted at rest) and returns the DNS records to publish.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.SendingDomain> addSendingDomain(
        io.postwave.v1.AddSendingDomainRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddSendingDomainMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ListSendingDomainsResponse> listSendingDomains(
        io.postwave.v1.ListSendingDomainsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListSendingDomainsMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.SendingDomain> getSendingDomain(
        io.postwave.v1.GetSendingDomainRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSendingDomainMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * VerifySendingDomain checks every record against DNS now; each record reports what is
     * missing or wrong. A verified domain may send; a new DKIM selector found published becomes active.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.SendingDomain> verifySendingDomain(
        io.postwave.v1.VerifySendingDomainRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getVerifySendingDomainMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RotateDkimKeys adds a new selector per algorithm; it signs once a verification finds it
     * published, and the old selector then retires after a grace period.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.SendingDomain> rotateDkimKeys(
        io.postwave.v1.RotateDkimKeysRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRotateDkimKeysMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * --- webhooks and erasure (tracking) ---
     * CreateWebhook adds an endpoint; the response holds its signing secret (Standard Webhooks).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Webhook> createWebhook(
        io.postwave.v1.CreateWebhookRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateWebhookMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ListWebhooksResponse> listWebhooks(
        io.postwave.v1.ListWebhooksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListWebhooksMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.DeleteWebhookResponse> deleteWebhook(
        io.postwave.v1.DeleteWebhookRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteWebhookMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RotateWebhookSecret issues a new secret; requests are signed with both until the old one expires.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Webhook> rotateWebhookSecret(
        io.postwave.v1.RotateWebhookSecretRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRotateWebhookSecretMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * TestWebhook sends one signed sample event to the endpoint now and reports the answer.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.TestWebhookResponse> testWebhook(
        io.postwave.v1.TestWebhookRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getTestWebhookMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RedriveWebhook re-enables an endpoint and delivers again from after its last delivered event
     * (or after `after_event_id`, to replay events the receiver lost).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Webhook> redriveWebhook(
        io.postwave.v1.RedriveWebhookRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRedriveWebhookMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * EraseRecipient removes a recipient's personal data from the tenant's messages and events
     * (right to erasure); a suppression of the address is kept, as a hash.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.EraseRecipientResponse> eraseRecipient(
        io.postwave.v1.EraseRecipientRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEraseRecipientMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * --- suppressions (storage) ---
     * AddSuppressions suppresses addresses for the tenant (up to 1,000 per call, all or none):
     * mail to them is dropped at acceptance and again just before sending. An entry given
     * `expires` is temporary and lifts itself then.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.AddSuppressionsResponse> addSuppressions(
        io.postwave.v1.AddSuppressionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddSuppressionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetSuppression answers whether an address is suppressed, and why (reason, the event that
     * caused it, when, until when); NOT_FOUND if it is not.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Suppression> getSuppression(
        io.postwave.v1.GetSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSuppressionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListSuppressions pages through the tenant's live suppressions.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.ListSuppressionsResponse> listSuppressions(
        io.postwave.v1.ListSuppressionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListSuppressionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RemoveSuppression lifts a suppression and returns what it was; NOT_FOUND if there was none.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.Suppression> removeSuppression(
        io.postwave.v1.RemoveSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRemoveSuppressionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * --- tenant circuit breakers (reputation) ---
     * GetTenantBreaker shows a tenant's circuit breaker: its level and why, each stream's
     * deliveries, bounces and complaints over the sliding window, and its transitions, newest
     * first. A tenant may read its own; operator keys any tenant's.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.TenantBreaker> getTenantBreaker(
        io.postwave.v1.GetTenantBreakerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetTenantBreakerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ResumeTenantBreaker lifts a tripped breaker (operator keys only): everything, or one
     * stream (transactional mail of a paused tenant; the bulk stream of a tenant whose bulk
     * alone is paused). Held messages go out again; counting starts afresh. Recorded in the
     * audit history and as a breaker.resumed event.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.TenantBreaker> resumeTenantBreaker(
        io.postwave.v1.ResumeTenantBreakerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getResumeTenantBreakerMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_TENANT = 0;
  private static final int METHODID_LIST_TENANTS = 1;
  private static final int METHODID_CREATE_API_KEY = 2;
  private static final int METHODID_LIST_API_KEYS = 3;
  private static final int METHODID_REVOKE_API_KEY = 4;
  private static final int METHODID_CREATE_TEMPLATE = 5;
  private static final int METHODID_GET_TEMPLATE = 6;
  private static final int METHODID_LIST_TEMPLATES = 7;
  private static final int METHODID_DELETE_TEMPLATE = 8;
  private static final int METHODID_RENDER_TEMPLATE = 9;
  private static final int METHODID_ADD_SENDING_DOMAIN = 10;
  private static final int METHODID_LIST_SENDING_DOMAINS = 11;
  private static final int METHODID_GET_SENDING_DOMAIN = 12;
  private static final int METHODID_VERIFY_SENDING_DOMAIN = 13;
  private static final int METHODID_ROTATE_DKIM_KEYS = 14;
  private static final int METHODID_CREATE_WEBHOOK = 15;
  private static final int METHODID_LIST_WEBHOOKS = 16;
  private static final int METHODID_DELETE_WEBHOOK = 17;
  private static final int METHODID_ROTATE_WEBHOOK_SECRET = 18;
  private static final int METHODID_TEST_WEBHOOK = 19;
  private static final int METHODID_REDRIVE_WEBHOOK = 20;
  private static final int METHODID_ERASE_RECIPIENT = 21;
  private static final int METHODID_ADD_SUPPRESSIONS = 22;
  private static final int METHODID_GET_SUPPRESSION = 23;
  private static final int METHODID_LIST_SUPPRESSIONS = 24;
  private static final int METHODID_REMOVE_SUPPRESSION = 25;
  private static final int METHODID_GET_TENANT_BREAKER = 26;
  private static final int METHODID_RESUME_TENANT_BREAKER = 27;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_TENANT:
          serviceImpl.createTenant((io.postwave.v1.CreateTenantRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Tenant>) responseObserver);
          break;
        case METHODID_LIST_TENANTS:
          serviceImpl.listTenants((io.postwave.v1.ListTenantsRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ListTenantsResponse>) responseObserver);
          break;
        case METHODID_CREATE_API_KEY:
          serviceImpl.createApiKey((io.postwave.v1.CreateApiKeyRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.CreateApiKeyResponse>) responseObserver);
          break;
        case METHODID_LIST_API_KEYS:
          serviceImpl.listApiKeys((io.postwave.v1.ListApiKeysRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ListApiKeysResponse>) responseObserver);
          break;
        case METHODID_REVOKE_API_KEY:
          serviceImpl.revokeApiKey((io.postwave.v1.RevokeApiKeyRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ApiKey>) responseObserver);
          break;
        case METHODID_CREATE_TEMPLATE:
          serviceImpl.createTemplate((io.postwave.v1.CreateTemplateRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Template>) responseObserver);
          break;
        case METHODID_GET_TEMPLATE:
          serviceImpl.getTemplate((io.postwave.v1.GetTemplateRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Template>) responseObserver);
          break;
        case METHODID_LIST_TEMPLATES:
          serviceImpl.listTemplates((io.postwave.v1.ListTemplatesRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ListTemplatesResponse>) responseObserver);
          break;
        case METHODID_DELETE_TEMPLATE:
          serviceImpl.deleteTemplate((io.postwave.v1.DeleteTemplateRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.DeleteTemplateResponse>) responseObserver);
          break;
        case METHODID_RENDER_TEMPLATE:
          serviceImpl.renderTemplate((io.postwave.v1.RenderTemplateRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.RenderTemplateResponse>) responseObserver);
          break;
        case METHODID_ADD_SENDING_DOMAIN:
          serviceImpl.addSendingDomain((io.postwave.v1.AddSendingDomainRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain>) responseObserver);
          break;
        case METHODID_LIST_SENDING_DOMAINS:
          serviceImpl.listSendingDomains((io.postwave.v1.ListSendingDomainsRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ListSendingDomainsResponse>) responseObserver);
          break;
        case METHODID_GET_SENDING_DOMAIN:
          serviceImpl.getSendingDomain((io.postwave.v1.GetSendingDomainRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain>) responseObserver);
          break;
        case METHODID_VERIFY_SENDING_DOMAIN:
          serviceImpl.verifySendingDomain((io.postwave.v1.VerifySendingDomainRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain>) responseObserver);
          break;
        case METHODID_ROTATE_DKIM_KEYS:
          serviceImpl.rotateDkimKeys((io.postwave.v1.RotateDkimKeysRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendingDomain>) responseObserver);
          break;
        case METHODID_CREATE_WEBHOOK:
          serviceImpl.createWebhook((io.postwave.v1.CreateWebhookRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Webhook>) responseObserver);
          break;
        case METHODID_LIST_WEBHOOKS:
          serviceImpl.listWebhooks((io.postwave.v1.ListWebhooksRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ListWebhooksResponse>) responseObserver);
          break;
        case METHODID_DELETE_WEBHOOK:
          serviceImpl.deleteWebhook((io.postwave.v1.DeleteWebhookRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.DeleteWebhookResponse>) responseObserver);
          break;
        case METHODID_ROTATE_WEBHOOK_SECRET:
          serviceImpl.rotateWebhookSecret((io.postwave.v1.RotateWebhookSecretRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Webhook>) responseObserver);
          break;
        case METHODID_TEST_WEBHOOK:
          serviceImpl.testWebhook((io.postwave.v1.TestWebhookRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.TestWebhookResponse>) responseObserver);
          break;
        case METHODID_REDRIVE_WEBHOOK:
          serviceImpl.redriveWebhook((io.postwave.v1.RedriveWebhookRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Webhook>) responseObserver);
          break;
        case METHODID_ERASE_RECIPIENT:
          serviceImpl.eraseRecipient((io.postwave.v1.EraseRecipientRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.EraseRecipientResponse>) responseObserver);
          break;
        case METHODID_ADD_SUPPRESSIONS:
          serviceImpl.addSuppressions((io.postwave.v1.AddSuppressionsRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.AddSuppressionsResponse>) responseObserver);
          break;
        case METHODID_GET_SUPPRESSION:
          serviceImpl.getSuppression((io.postwave.v1.GetSuppressionRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Suppression>) responseObserver);
          break;
        case METHODID_LIST_SUPPRESSIONS:
          serviceImpl.listSuppressions((io.postwave.v1.ListSuppressionsRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.ListSuppressionsResponse>) responseObserver);
          break;
        case METHODID_REMOVE_SUPPRESSION:
          serviceImpl.removeSuppression((io.postwave.v1.RemoveSuppressionRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.Suppression>) responseObserver);
          break;
        case METHODID_GET_TENANT_BREAKER:
          serviceImpl.getTenantBreaker((io.postwave.v1.GetTenantBreakerRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.TenantBreaker>) responseObserver);
          break;
        case METHODID_RESUME_TENANT_BREAKER:
          serviceImpl.resumeTenantBreaker((io.postwave.v1.ResumeTenantBreakerRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.TenantBreaker>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getCreateTenantMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.CreateTenantRequest,
              io.postwave.v1.Tenant>(
                service, METHODID_CREATE_TENANT)))
        .addMethod(
          getListTenantsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ListTenantsRequest,
              io.postwave.v1.ListTenantsResponse>(
                service, METHODID_LIST_TENANTS)))
        .addMethod(
          getCreateApiKeyMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.CreateApiKeyRequest,
              io.postwave.v1.CreateApiKeyResponse>(
                service, METHODID_CREATE_API_KEY)))
        .addMethod(
          getListApiKeysMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ListApiKeysRequest,
              io.postwave.v1.ListApiKeysResponse>(
                service, METHODID_LIST_API_KEYS)))
        .addMethod(
          getRevokeApiKeyMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.RevokeApiKeyRequest,
              io.postwave.v1.ApiKey>(
                service, METHODID_REVOKE_API_KEY)))
        .addMethod(
          getCreateTemplateMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.CreateTemplateRequest,
              io.postwave.v1.Template>(
                service, METHODID_CREATE_TEMPLATE)))
        .addMethod(
          getGetTemplateMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.GetTemplateRequest,
              io.postwave.v1.Template>(
                service, METHODID_GET_TEMPLATE)))
        .addMethod(
          getListTemplatesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ListTemplatesRequest,
              io.postwave.v1.ListTemplatesResponse>(
                service, METHODID_LIST_TEMPLATES)))
        .addMethod(
          getDeleteTemplateMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.DeleteTemplateRequest,
              io.postwave.v1.DeleteTemplateResponse>(
                service, METHODID_DELETE_TEMPLATE)))
        .addMethod(
          getRenderTemplateMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.RenderTemplateRequest,
              io.postwave.v1.RenderTemplateResponse>(
                service, METHODID_RENDER_TEMPLATE)))
        .addMethod(
          getAddSendingDomainMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.AddSendingDomainRequest,
              io.postwave.v1.SendingDomain>(
                service, METHODID_ADD_SENDING_DOMAIN)))
        .addMethod(
          getListSendingDomainsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ListSendingDomainsRequest,
              io.postwave.v1.ListSendingDomainsResponse>(
                service, METHODID_LIST_SENDING_DOMAINS)))
        .addMethod(
          getGetSendingDomainMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.GetSendingDomainRequest,
              io.postwave.v1.SendingDomain>(
                service, METHODID_GET_SENDING_DOMAIN)))
        .addMethod(
          getVerifySendingDomainMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.VerifySendingDomainRequest,
              io.postwave.v1.SendingDomain>(
                service, METHODID_VERIFY_SENDING_DOMAIN)))
        .addMethod(
          getRotateDkimKeysMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.RotateDkimKeysRequest,
              io.postwave.v1.SendingDomain>(
                service, METHODID_ROTATE_DKIM_KEYS)))
        .addMethod(
          getCreateWebhookMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.CreateWebhookRequest,
              io.postwave.v1.Webhook>(
                service, METHODID_CREATE_WEBHOOK)))
        .addMethod(
          getListWebhooksMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ListWebhooksRequest,
              io.postwave.v1.ListWebhooksResponse>(
                service, METHODID_LIST_WEBHOOKS)))
        .addMethod(
          getDeleteWebhookMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.DeleteWebhookRequest,
              io.postwave.v1.DeleteWebhookResponse>(
                service, METHODID_DELETE_WEBHOOK)))
        .addMethod(
          getRotateWebhookSecretMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.RotateWebhookSecretRequest,
              io.postwave.v1.Webhook>(
                service, METHODID_ROTATE_WEBHOOK_SECRET)))
        .addMethod(
          getTestWebhookMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.TestWebhookRequest,
              io.postwave.v1.TestWebhookResponse>(
                service, METHODID_TEST_WEBHOOK)))
        .addMethod(
          getRedriveWebhookMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.RedriveWebhookRequest,
              io.postwave.v1.Webhook>(
                service, METHODID_REDRIVE_WEBHOOK)))
        .addMethod(
          getEraseRecipientMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.EraseRecipientRequest,
              io.postwave.v1.EraseRecipientResponse>(
                service, METHODID_ERASE_RECIPIENT)))
        .addMethod(
          getAddSuppressionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.AddSuppressionsRequest,
              io.postwave.v1.AddSuppressionsResponse>(
                service, METHODID_ADD_SUPPRESSIONS)))
        .addMethod(
          getGetSuppressionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.GetSuppressionRequest,
              io.postwave.v1.Suppression>(
                service, METHODID_GET_SUPPRESSION)))
        .addMethod(
          getListSuppressionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ListSuppressionsRequest,
              io.postwave.v1.ListSuppressionsResponse>(
                service, METHODID_LIST_SUPPRESSIONS)))
        .addMethod(
          getRemoveSuppressionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.RemoveSuppressionRequest,
              io.postwave.v1.Suppression>(
                service, METHODID_REMOVE_SUPPRESSION)))
        .addMethod(
          getGetTenantBreakerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.GetTenantBreakerRequest,
              io.postwave.v1.TenantBreaker>(
                service, METHODID_GET_TENANT_BREAKER)))
        .addMethod(
          getResumeTenantBreakerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.ResumeTenantBreakerRequest,
              io.postwave.v1.TenantBreaker>(
                service, METHODID_RESUME_TENANT_BREAKER)))
        .build();
  }

  private static abstract class AdminServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    AdminServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.postwave.v1.Admin.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("AdminService");
    }
  }

  private static final class AdminServiceFileDescriptorSupplier
      extends AdminServiceBaseDescriptorSupplier {
    AdminServiceFileDescriptorSupplier() {}
  }

  private static final class AdminServiceMethodDescriptorSupplier
      extends AdminServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    AdminServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (AdminServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new AdminServiceFileDescriptorSupplier())
              .addMethod(getCreateTenantMethod())
              .addMethod(getListTenantsMethod())
              .addMethod(getCreateApiKeyMethod())
              .addMethod(getListApiKeysMethod())
              .addMethod(getRevokeApiKeyMethod())
              .addMethod(getCreateTemplateMethod())
              .addMethod(getGetTemplateMethod())
              .addMethod(getListTemplatesMethod())
              .addMethod(getDeleteTemplateMethod())
              .addMethod(getRenderTemplateMethod())
              .addMethod(getAddSendingDomainMethod())
              .addMethod(getListSendingDomainsMethod())
              .addMethod(getGetSendingDomainMethod())
              .addMethod(getVerifySendingDomainMethod())
              .addMethod(getRotateDkimKeysMethod())
              .addMethod(getCreateWebhookMethod())
              .addMethod(getListWebhooksMethod())
              .addMethod(getDeleteWebhookMethod())
              .addMethod(getRotateWebhookSecretMethod())
              .addMethod(getTestWebhookMethod())
              .addMethod(getRedriveWebhookMethod())
              .addMethod(getEraseRecipientMethod())
              .addMethod(getAddSuppressionsMethod())
              .addMethod(getGetSuppressionMethod())
              .addMethod(getListSuppressionsMethod())
              .addMethod(getRemoveSuppressionMethod())
              .addMethod(getGetTenantBreakerMethod())
              .addMethod(getResumeTenantBreakerMethod())
              .build();
        }
      }
    }
    return result;
  }
}
