namespace Stevedore.UnitTests.Grains;

/// <summary>One grain call the silo served.</summary>
public sealed record GrainCall(Type Interface, string Method, object?[] Arguments, object? Result);

/// <summary>
/// Records every grain call a silo serves (an incoming call filter), so a test can wait for a call that shows a
/// state it cannot read otherwise — "the partition asked for a run slot and was told the job is paused".
/// </summary>
public sealed class GrainCallLog : IIncomingGrainCallFilter
{
    private readonly Lock _lock = new();
    private readonly List<GrainCall> _calls = [];
    private readonly List<(Func<GrainCall, bool> Match, TaskCompletionSource<GrainCall> Seen)> _waiters = [];

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        var request = context.Request;
        var arguments = new object?[request.GetArgumentCount()];
        for (var i = 0; i < arguments.Length; i++)
        {
            arguments[i] = request.GetArgument(i);
        }

        var call = new GrainCall(context.InterfaceMethod.DeclaringType!, context.InterfaceMethod.Name, arguments, context.Result);
        lock (_lock)
        {
            _calls.Add(call);
            _waiters.RemoveAll(w => w.Match(call) && w.Seen.TrySetResult(call));
        }
    }

    /// <summary>Completes with the first call of <typeparamref name="T"/>.<paramref name="method"/> that matches, past or future.</summary>
    public Task<GrainCall> WhenCalled<T>(string method, Func<GrainCall, bool> match)
    {
        bool Matches(GrainCall call) => call.Interface == typeof(T) && call.Method == method && match(call);
        lock (_lock)
        {
            if (_calls.FirstOrDefault(Matches) is { } seen)
            {
                return Task.FromResult(seen);
            }

            var waiter = new TaskCompletionSource<GrainCall>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((Matches, waiter));
            return waiter.Task;
        }
    }
}
