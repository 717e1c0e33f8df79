package io.postwave.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
 * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class SendServiceGrpc {

  private SendServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "postwave.v1.SendService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.SendRequest,
      io.postwave.v1.SendResponse> getSendMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Send",
      requestType = io.postwave.v1.SendRequest.class,
      responseType = io.postwave.v1.SendResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.SendRequest,
      io.postwave.v1.SendResponse> getSendMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.SendRequest, io.postwave.v1.SendResponse> getSendMethod;
    if ((getSendMethod = SendServiceGrpc.getSendMethod) == null) {
      synchronized (SendServiceGrpc.class) {
        if ((getSendMethod = SendServiceGrpc.getSendMethod) == null) {
          SendServiceGrpc.getSendMethod = getSendMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.SendRequest, io.postwave.v1.SendResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Send"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SendServiceMethodDescriptorSupplier("Send"))
              .build();
        }
      }
    }
    return getSendMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.SendRequest,
      io.postwave.v1.SendResponse> getBatchSendMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "BatchSend",
      requestType = io.postwave.v1.SendRequest.class,
      responseType = io.postwave.v1.SendResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<io.postwave.v1.SendRequest,
      io.postwave.v1.SendResponse> getBatchSendMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.SendRequest, io.postwave.v1.SendResponse> getBatchSendMethod;
    if ((getBatchSendMethod = SendServiceGrpc.getBatchSendMethod) == null) {
      synchronized (SendServiceGrpc.class) {
        if ((getBatchSendMethod = SendServiceGrpc.getBatchSendMethod) == null) {
          SendServiceGrpc.getBatchSendMethod = getBatchSendMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.SendRequest, io.postwave.v1.SendResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "BatchSend"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SendServiceMethodDescriptorSupplier("BatchSend"))
              .build();
        }
      }
    }
    return getBatchSendMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.SendBatchRequest,
      io.postwave.v1.SendBatchResponse> getSendBatchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SendBatch",
      requestType = io.postwave.v1.SendBatchRequest.class,
      responseType = io.postwave.v1.SendBatchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.SendBatchRequest,
      io.postwave.v1.SendBatchResponse> getSendBatchMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.SendBatchRequest, io.postwave.v1.SendBatchResponse> getSendBatchMethod;
    if ((getSendBatchMethod = SendServiceGrpc.getSendBatchMethod) == null) {
      synchronized (SendServiceGrpc.class) {
        if ((getSendBatchMethod = SendServiceGrpc.getSendBatchMethod) == null) {
          SendServiceGrpc.getSendBatchMethod = getSendBatchMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.SendBatchRequest, io.postwave.v1.SendBatchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SendBatch"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendBatchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.SendBatchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SendServiceMethodDescriptorSupplier("SendBatch"))
              .build();
        }
      }
    }
    return getSendBatchMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.GetStatusRequest,
      io.postwave.v1.MessageStatus> getGetStatusMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetStatus",
      requestType = io.postwave.v1.GetStatusRequest.class,
      responseType = io.postwave.v1.MessageStatus.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.GetStatusRequest,
      io.postwave.v1.MessageStatus> getGetStatusMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.GetStatusRequest, io.postwave.v1.MessageStatus> getGetStatusMethod;
    if ((getGetStatusMethod = SendServiceGrpc.getGetStatusMethod) == null) {
      synchronized (SendServiceGrpc.class) {
        if ((getGetStatusMethod = SendServiceGrpc.getGetStatusMethod) == null) {
          SendServiceGrpc.getGetStatusMethod = getGetStatusMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.GetStatusRequest, io.postwave.v1.MessageStatus>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetStatus"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.GetStatusRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.MessageStatus.getDefaultInstance()))
              .setSchemaDescriptor(new SendServiceMethodDescriptorSupplier("GetStatus"))
              .build();
        }
      }
    }
    return getGetStatusMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.postwave.v1.CancelScheduledRequest,
      io.postwave.v1.CancelScheduledResponse> getCancelScheduledMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CancelScheduled",
      requestType = io.postwave.v1.CancelScheduledRequest.class,
      responseType = io.postwave.v1.CancelScheduledResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.postwave.v1.CancelScheduledRequest,
      io.postwave.v1.CancelScheduledResponse> getCancelScheduledMethod() {
    io.grpc.MethodDescriptor<io.postwave.v1.CancelScheduledRequest, io.postwave.v1.CancelScheduledResponse> getCancelScheduledMethod;
    if ((getCancelScheduledMethod = SendServiceGrpc.getCancelScheduledMethod) == null) {
      synchronized (SendServiceGrpc.class) {
        if ((getCancelScheduledMethod = SendServiceGrpc.getCancelScheduledMethod) == null) {
          SendServiceGrpc.getCancelScheduledMethod = getCancelScheduledMethod =
              io.grpc.MethodDescriptor.<io.postwave.v1.CancelScheduledRequest, io.postwave.v1.CancelScheduledResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CancelScheduled"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CancelScheduledRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.postwave.v1.CancelScheduledResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SendServiceMethodDescriptorSupplier("CancelScheduled"))
              .build();
        }
      }
    }
    return getCancelScheduledMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static SendServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SendServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SendServiceStub>() {
        @java.lang.Override
        public SendServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SendServiceStub(channel, callOptions);
        }
      };
    return SendServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static SendServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SendServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SendServiceBlockingV2Stub>() {
        @java.lang.Override
        public SendServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SendServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return SendServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static SendServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SendServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SendServiceBlockingStub>() {
        @java.lang.Override
        public SendServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SendServiceBlockingStub(channel, callOptions);
        }
      };
    return SendServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static SendServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SendServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SendServiceFutureStub>() {
        @java.lang.Override
        public SendServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SendServiceFutureStub(channel, callOptions);
        }
      };
    return SendServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
   * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Send accepts one request (which may expand to many messages, one per personalization).
     * </pre>
     */
    default void send(io.postwave.v1.SendRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSendMethod(), responseObserver);
    }

    /**
     * <pre>
     * BatchSend is the streaming bulk path: one response per request, in order.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<io.postwave.v1.SendRequest> batchSend(
        io.grpc.stub.StreamObserver<io.postwave.v1.SendResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getBatchSendMethod(), responseObserver);
    }

    /**
     * <pre>
     * SendBatch is the unary list form of BatchSend: per-item results, nothing half-accepted.
     * </pre>
     */
    default void sendBatch(io.postwave.v1.SendBatchRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendBatchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSendBatchMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetStatus returns one message's state, delivery attempts and events.
     * </pre>
     */
    default void getStatus(io.postwave.v1.GetStatusRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.MessageStatus> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetStatusMethod(), responseObserver);
    }

    /**
     * <pre>
     * CancelScheduled cancels messages not yet released, by send_id or batch_id.
     * </pre>
     */
    default void cancelScheduled(io.postwave.v1.CancelScheduledRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.CancelScheduledResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCancelScheduledMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service SendService.
   * <pre>
   * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
   * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
   * </pre>
   */
  public static abstract class SendServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return SendServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service SendService.
   * <pre>
   * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
   * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
   * </pre>
   */
  public static final class SendServiceStub
      extends io.grpc.stub.AbstractAsyncStub<SendServiceStub> {
    private SendServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SendServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SendServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Send accepts one request (which may expand to many messages, one per personalization).
     * </pre>
     */
    public void send(io.postwave.v1.SendRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSendMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * BatchSend is the streaming bulk path: one response per request, in order.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<io.postwave.v1.SendRequest> batchSend(
        io.grpc.stub.StreamObserver<io.postwave.v1.SendResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getBatchSendMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * SendBatch is the unary list form of BatchSend: per-item results, nothing half-accepted.
     * </pre>
     */
    public void sendBatch(io.postwave.v1.SendBatchRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.SendBatchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSendBatchMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetStatus returns one message's state, delivery attempts and events.
     * </pre>
     */
    public void getStatus(io.postwave.v1.GetStatusRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.MessageStatus> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetStatusMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CancelScheduled cancels messages not yet released, by send_id or batch_id.
     * </pre>
     */
    public void cancelScheduled(io.postwave.v1.CancelScheduledRequest request,
        io.grpc.stub.StreamObserver<io.postwave.v1.CancelScheduledResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCancelScheduledMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service SendService.
   * <pre>
   * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
   * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
   * </pre>
   */
  public static final class SendServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<SendServiceBlockingV2Stub> {
    private SendServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SendServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SendServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Send accepts one request (which may expand to many messages, one per personalization).
     * </pre>
     */
    public io.postwave.v1.SendResponse send(io.postwave.v1.SendRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSendMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * BatchSend is the streaming bulk path: one response per request, in order.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<io.postwave.v1.SendRequest, io.postwave.v1.SendResponse>
        batchSend() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getBatchSendMethod(), getCallOptions());
    }

    /**
     * <pre>
     * SendBatch is the unary list form of BatchSend: per-item results, nothing half-accepted.
     * </pre>
     */
    public io.postwave.v1.SendBatchResponse sendBatch(io.postwave.v1.SendBatchRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSendBatchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetStatus returns one message's state, delivery attempts and events.
     * </pre>
     */
    public io.postwave.v1.MessageStatus getStatus(io.postwave.v1.GetStatusRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CancelScheduled cancels messages not yet released, by send_id or batch_id.
     * </pre>
     */
    public io.postwave.v1.CancelScheduledResponse cancelScheduled(io.postwave.v1.CancelScheduledRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCancelScheduledMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service SendService.
   * <pre>
   * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
   * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
   * </pre>
   */
  public static final class SendServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<SendServiceBlockingStub> {
    private SendServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SendServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SendServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Send accepts one request (which may expand to many messages, one per personalization).
     * </pre>
     */
    public io.postwave.v1.SendResponse send(io.postwave.v1.SendRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSendMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * SendBatch is the unary list form of BatchSend: per-item results, nothing half-accepted.
     * </pre>
     */
    public io.postwave.v1.SendBatchResponse sendBatch(io.postwave.v1.SendBatchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSendBatchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetStatus returns one message's state, delivery attempts and events.
     * </pre>
     */
    public io.postwave.v1.MessageStatus getStatus(io.postwave.v1.GetStatusRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CancelScheduled cancels messages not yet released, by send_id or batch_id.
     * </pre>
     */
    public io.postwave.v1.CancelScheduledResponse cancelScheduled(io.postwave.v1.CancelScheduledRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCancelScheduledMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service SendService.
   * <pre>
   * SendService accepts mail for delivery. Every call needs an API key with scope mail.send
   * (GetStatus: mail.read) in the `authorization: Bearer &lt;key&gt;` metadata.
   * </pre>
   */
  public static final class SendServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<SendServiceFutureStub> {
    private SendServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SendServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SendServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Send accepts one request (which may expand to many messages, one per personalization).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.SendResponse> send(
        io.postwave.v1.SendRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSendMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * SendBatch is the unary list form of BatchSend: per-item results, nothing half-accepted.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.SendBatchResponse> sendBatch(
        io.postwave.v1.SendBatchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSendBatchMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetStatus returns one message's state, delivery attempts and events.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.MessageStatus> getStatus(
        io.postwave.v1.GetStatusRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetStatusMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CancelScheduled cancels messages not yet released, by send_id or batch_id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.postwave.v1.CancelScheduledResponse> cancelScheduled(
        io.postwave.v1.CancelScheduledRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCancelScheduledMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_SEND = 0;
  private static final int METHODID_SEND_BATCH = 1;
  private static final int METHODID_GET_STATUS = 2;
  private static final int METHODID_CANCEL_SCHEDULED = 3;
  private static final int METHODID_BATCH_SEND = 4;

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
        case METHODID_SEND:
          serviceImpl.send((io.postwave.v1.SendRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendResponse>) responseObserver);
          break;
        case METHODID_SEND_BATCH:
          serviceImpl.sendBatch((io.postwave.v1.SendBatchRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendBatchResponse>) responseObserver);
          break;
        case METHODID_GET_STATUS:
          serviceImpl.getStatus((io.postwave.v1.GetStatusRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.MessageStatus>) responseObserver);
          break;
        case METHODID_CANCEL_SCHEDULED:
          serviceImpl.cancelScheduled((io.postwave.v1.CancelScheduledRequest) request,
              (io.grpc.stub.StreamObserver<io.postwave.v1.CancelScheduledResponse>) responseObserver);
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
        case METHODID_BATCH_SEND:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.batchSend(
              (io.grpc.stub.StreamObserver<io.postwave.v1.SendResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getSendMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.SendRequest,
              io.postwave.v1.SendResponse>(
                service, METHODID_SEND)))
        .addMethod(
          getBatchSendMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              io.postwave.v1.SendRequest,
              io.postwave.v1.SendResponse>(
                service, METHODID_BATCH_SEND)))
        .addMethod(
          getSendBatchMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.SendBatchRequest,
              io.postwave.v1.SendBatchResponse>(
                service, METHODID_SEND_BATCH)))
        .addMethod(
          getGetStatusMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.GetStatusRequest,
              io.postwave.v1.MessageStatus>(
                service, METHODID_GET_STATUS)))
        .addMethod(
          getCancelScheduledMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.postwave.v1.CancelScheduledRequest,
              io.postwave.v1.CancelScheduledResponse>(
                service, METHODID_CANCEL_SCHEDULED)))
        .build();
  }

  private static abstract class SendServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    SendServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.postwave.v1.Send.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("SendService");
    }
  }

  private static final class SendServiceFileDescriptorSupplier
      extends SendServiceBaseDescriptorSupplier {
    SendServiceFileDescriptorSupplier() {}
  }

  private static final class SendServiceMethodDescriptorSupplier
      extends SendServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    SendServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (SendServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new SendServiceFileDescriptorSupplier())
              .addMethod(getSendMethod())
              .addMethod(getBatchSendMethod())
              .addMethod(getSendBatchMethod())
              .addMethod(getGetStatusMethod())
              .addMethod(getCancelScheduledMethod())
              .build();
        }
      }
    }
    return result;
  }
}
