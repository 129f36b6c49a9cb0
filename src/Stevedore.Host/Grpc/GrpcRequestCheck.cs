using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Frozen;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Stevedore.Host.Grpc;

/// <summary>
/// A <c>stevedore.v1</c> call whose request is not one message of the method's type is INVALID_ARGUMENT, naming the
/// type and what is wrong. Left to the gRPC stack, a request that does not parse fails inside the call's handler:
/// UNKNOWN ("exception was thrown by handler"), the gRPC form of a 500, and an error in the host's log, for any client
/// that sends bytes that are not a message. The request is read here and left unconsumed, so the call reads it as sent;
/// a compressed one, or one past the size limit, is left to the gRPC stack (it decompresses, or refuses the size).
/// </summary>
public sealed class GrpcRequestCheck(RequestDelegate next)
{
    private const int FrameHeader = 5;

    private static readonly FrozenDictionary<string, MessageDescriptor> s_inputs =
        GrpcEndpoints.ApiMethods.ToFrozenDictionary(m => $"/{m.Service.FullName}/{m.Name}", m => m.InputType, StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.Value is not { } path || !s_inputs.TryGetValue(path, out var input)
            || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            await next(context);
            return;
        }

        // The gRPC stack lifts the server's request size limit (30 MB) for its calls and applies its own: do the same
        // before reading, or a call the gRPC stack accepts would fail here.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        var reader = context.Request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(context.RequestAborted);
            if (read.IsCompleted || read.IsCanceled || read.Buffer.Length > GrpcEndpoints.MaxReceiveMessageBytes + FrameHeader)
            {
                break;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        var problem = read.IsCompleted ? Problem(read.Buffer, input) : null;
        reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        if (problem is null)
        {
            await next(context);
            return;
        }

        // A trailers-only answer: the status in the headers, no message.
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)global::Grpc.Core.StatusCode.InvalidArgument).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(problem);
    }

    /// <summary>What is wrong with a whole request body, or null when it is one message of its type (or compressed).</summary>
    public static string? Problem(ReadOnlySequence<byte> body, MessageDescriptor input)
    {
        Span<byte> header = stackalloc byte[FrameHeader];
        if (body.Length < FrameHeader)
        {
            return $"the request is not a gRPC message ({body.Length} bytes); send one {input.FullName}";
        }

        body.Slice(0, FrameHeader).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (header[0] == 1)
        {
            return null;
        }

        if (header[0] != 0 || length != body.Length - FrameHeader)
        {
            return $"the request is not one gRPC message; send one {input.FullName}";
        }

        try
        {
            input.Parser.ParseFrom(body.Slice(FrameHeader));
            return null;
        }
        catch (InvalidProtocolBufferException ex)
        {
            return $"the request is not a valid {input.FullName}: {ex.Message}";
        }
    }
}
