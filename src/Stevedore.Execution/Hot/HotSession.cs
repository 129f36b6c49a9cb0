using System.Text;
using Stevedore.Storage;

namespace Stevedore.Execution.Hot;

/// <summary>
/// One hot container's side of <see cref="HotProtocol"/>: sends a task's invocation, routes the container's output
/// to that task's log, and turns the response (or the container's death, a malformed frame, a timeout or a cancel)
/// into the attempt's outcome. One task at a time; output between tasks is dropped.
/// </summary>
public sealed class HotSession : IHotOutput, IHotFrameSink
{
    private readonly Lock _lock = new();
    private readonly HotOutputParser _parser;
    private readonly TimeProvider _time;
    private readonly int _memoryMb;
    private Invocation? _current;
    private bool _dead;
    private long? _exitCode;
    private string? _broken;

    public HotSession(int maxResponseBytes, int memoryMb, TimeProvider time)
    {
        _parser = new HotOutputParser(this, maxResponseBytes);
        _time = time;
        _memoryMb = memoryMb;
    }

    /// <summary>False once the container has stopped or broke the protocol: it can serve no more tasks.</summary>
    public bool Alive
    {
        get
        {
            lock (_lock)
            {
                return !_dead && _broken is null;
            }
        }
    }

    /// <summary>The container this session speaks to; set once it has started.</summary>
    public IHotContainer? Container { get; set; }

    /// <summary>How one invocation ended; <c>Reusable</c> when the container answered cleanly and may serve another task.</summary>
    public readonly record struct Outcome(ContainerExit Exit, bool Reusable);

    private sealed class Invocation(ITaskLogWriter log)
    {
        public ITaskLogWriter Log { get; } = log;
        public TaskCompletionSource<Outcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Serves one task: invocation in, response out, bounded by the task's timeout and cancellation.</summary>
    public async Task<Outcome> InvokeAsync(ContainerRunRequest request, ITaskLogWriter log, CancellationToken cancellationToken)
    {
        var invocation = new Invocation(log);
        lock (_lock)
        {
            if (_dead || _broken is not null)
            {
                return new Outcome(Died(), false);
            }

            _current = invocation;
        }

        using var timeout = new CancellationTokenSource(request.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // The previous task's input first (a handler may answer before reading all of it), then this one's. Not
            // awaited: a handler that never reads would block the write; the response, the exit, the timeout or the
            // cancel ends the invocation whatever the write does.
            await _writing.WaitAsync(linked.Token);
            _writing = WriteInvocationAsync(request, CancellationToken.None);
            return await invocation.Done.Task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            // Timeout or cancel: the container is killed (the pool replaces it) and the attempt ends as a cold one would.
            var stoppedBy = timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? StopCause.Timeout : StopCause.Cancel;
            var ending = new ContainerEnding
            {
                StoppedBy = stoppedBy, ExitCode = ContainerExits.KilledExitCode, Timeout = request.Timeout, MemoryMb = request.Spec.MemoryMb,
            };
            return new Outcome(ContainerExits.Classify(ending), false);
        }
        finally
        {
            lock (_lock)
            {
                _current = null;
            }
        }
    }

    private Task _writing = Task.CompletedTask;

    private async Task WriteInvocationAsync(ContainerRunRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await Container!.WriteAsync(HotProtocol.InvokeHeader(request.TaskId, request.Attempt, request.Payload.Length), cancellationToken);
            if (!request.Payload.IsEmpty)
            {
                await Container.WriteAsync(request.Payload, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The container is gone (its exit ends the invocation) or the invocation ended first.
        }
    }

    public void Stdout(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            _parser.Feed(data);
        }
    }

    public void Stderr(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            _current?.Log.Write(LogStream.Stderr, data);
        }
    }

    public void Exited(long? exitCode)
    {
        Invocation? current;
        lock (_lock)
        {
            _dead = true;
            _exitCode = exitCode;
            current = _current;
        }

        current?.Done.TrySetResult(new Outcome(DiedWith(exitCode, _memoryMb), false));
    }

    void IHotFrameSink.Log(ReadOnlySpan<byte> data) => _current?.Log.Write(LogStream.Stdout, data);

    void IHotFrameSink.Response(bool ok, ReadOnlyMemory<byte> body)
    {
        if (_current is not { } current)
        {
            ((IHotFrameSink)this).Malformed("malformed response frame: a response while no task was sent");
            return;
        }

        var exit = ok
            ? new ContainerExit { Status = TaskRunStatus.Succeeded, ExitCode = 0, Result = body.IsEmpty ? ContainerExit.NoResult : body }
            : new ContainerExit { Status = TaskRunStatus.Failed, Error = $"the hot handler answered with an error: {ErrorText(body.Span)}" };
        current.Done.TrySetResult(new Outcome(exit, true));
    }

    void IHotFrameSink.Malformed(string reason)
    {
        _broken = reason;
        _current?.Done.TrySetResult(new Outcome(
            new ContainerExit { Status = TaskRunStatus.Failed, Error = $"the hot container broke the protocol ({reason}); it was replaced" }, false));
    }

    private ContainerExit Died() =>
        _broken is { } reason
            ? new ContainerExit { Status = TaskRunStatus.Failed, Error = $"the hot container broke the protocol ({reason}); it was replaced" }
            : DiedWith(_exitCode, _memoryMb);

    private static ContainerExit DiedWith(long? exitCode, int memoryMb) => new()
    {
        Status = TaskRunStatus.Failed,
        ExitCode = exitCode,
        Error = exitCode switch
        {
            null => "the hot container stopped before it answered",
            ContainerExits.KilledExitCode => "the hot container was killed by SIGKILL (exit code 137) before it answered, not by Stevedore: most likely out of memory"
                + (memoryMb > 0 ? $" at its {memoryMb} MiB memory limit" : ""),
            _ => $"the hot container exited with code {exitCode} before it answered",
        },
    };

    private static string ErrorText(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, HotProtocol.MaxErrorChars * 4)]);
        var clean = new StringBuilder();
        foreach (var c in text)
        {
            if (clean.Length >= HotProtocol.MaxErrorChars)
            {
                clean.Append('…');
                break;
            }

            clean.Append(char.IsControl(c) && c != '\n' ? '?' : c);
        }

        return clean.Length == 0 ? "(no message)" : clean.ToString().TrimEnd('\n');
    }
}
