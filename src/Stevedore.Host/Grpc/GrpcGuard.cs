using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Stevedore.Host.Apis;
using Stevedore.Host.Hosting;

namespace Stevedore.Host.Grpc;

/// <summary>
/// Every <c>stevedore.v1</c> call: the admin token (metadata <c>authorization: Bearer &lt;token&gt;</c>) when one is
/// set, and outages of storage or cluster as UNAVAILABLE instead of UNKNOWN. Health and reflection need no token,
/// like <c>/healthz</c>.
/// </summary>
public sealed class GrpcGuard(IConfiguration configuration) : Interceptor
{
    private const string Package = "/stevedore.v1.";
    private readonly byte[]? _token = configuration[StevedoreHost.AdminTokenKey] is { Length: > 0 } t ? Encoding.UTF8.GetBytes(t) : null;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } status)
        {
            throw status;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } status)
        {
            throw status;
        }
    }

    private void Authorize(ServerCallContext context)
    {
        if (_token is null || !context.Method.StartsWith(Package, StringComparison.Ordinal))
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                "This server needs the admin token: send the metadata 'authorization: Bearer <token>' (the value of Stevedore:Auth:AdminToken)."));
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), _token))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "The bearer token is not this server's admin token."));
        }
    }

    private static RpcException? Translate(Exception exception, ServerCallContext context) => exception switch
    {
        RpcException => null,
        OperationCanceledException when context.CancellationToken.IsCancellationRequested =>
            new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled.")),
        _ when Problems.IsUnavailable(exception) => new RpcException(new Status(StatusCode.Unavailable,
            "Stevedore's storage or cluster did not answer in time; nothing was changed by this call unless it says otherwise. Try again shortly.")),
        _ => null,
    };
}
