using Google.Rpc;
using Grpc.Core;

namespace Stevedore.IntegrationTests.Grpc;

/// <summary>Checks on gRPC refusals as they arrive on the wire.</summary>
public static class GrpcAssert
{
    public static async Task<RpcException> RefusedAsync(StatusCode code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(ex.StatusCode == code, $"expected {code}, got {ex.StatusCode}: {ex.Status.Detail}");
        Assert.False(string.IsNullOrWhiteSpace(ex.Status.Detail), "the refusal says nothing");
        return ex;
    }

    /// <summary>INVALID_ARGUMENT with a google.rpc.BadRequest naming <paramref name="field"/>.</summary>
    public static async Task FieldErrorAsync(string field, Func<Task> call)
    {
        var ex = await RefusedAsync(StatusCode.InvalidArgument, call);
        var badRequest = ex.GetRpcStatus()?.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.True(badRequest.FieldViolations.Any(v => v.Field == field && v.Description.Length > 0),
            $"no violation on '{field}': {string.Join("; ", badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}"))}");
    }
}
