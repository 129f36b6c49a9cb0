using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Stevedore.Execution.Hot;

namespace Stevedore.Execution.Fake;

/// <summary>
/// Hot containers in-process, for tests of the logic around them and control-plane benchmarks: each one is a
/// handler speaking the real <see cref="HotProtocol"/> bytes. It reads invocations from what the worker writes and
/// answers by payload: <c>fail</c> answers an error frame; <c>answer-then-exit</c> answers, then exits 0; <c>malformed</c> a broken frame; <c>die</c> exits with
/// code 3 mid-task; <c>hold</c> never answers; anything else logs one stdout and one stderr line and answers its
/// payload as the result (the answer split into small pieces, as a pipe may deliver it).
/// </summary>
public sealed class FakeHotContainers : IHotContainerDriver
{
    private readonly ConcurrentDictionary<long, Container> _live = new();
    private long _started;
    private long _serial;

    public int MaxResponseBytes { get; init; } = 1024 * 1024;

    /// <summary>Hot containers started so far.</summary>
    public long Started => Interlocked.Read(ref _started);

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _invoked = new(StringComparer.Ordinal);

    /// <summary>Hot containers running now.</summary>
    public int Live => _live.Count;

    /// <summary>Hot containers of <paramref name="job"/> running now.</summary>
    public int LiveOf(string job) => _live.Values.Count(c => c.Job == job);

    /// <summary>Hot containers of <paramref name="job"/> started so far.</summary>
    public int StartedOf(string job) => _startedPerJob.GetValueOrDefault(job);

    /// <summary>Completes once a hot container has received the invocation of <paramref name="taskId"/> (its timeout is armed by then).</summary>
    public Task WhenInvoked(string taskId) => InvokedSignal(taskId).Task;

    private TaskCompletionSource InvokedSignal(string taskId) =>
        _invoked.GetOrAdd(taskId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private readonly ConcurrentDictionary<string, int> _startedPerJob = new(StringComparer.Ordinal);

    /// <summary>Raised when a container starts, with its job version.</summary>
    public event Action<HotContainerRequest>? ContainerStarted;

    public Task<IHotContainer> StartAsync(HotContainerRequest request, IHotOutput output, CancellationToken cancellationToken)
    {
        if (request.Spec.Image.StartsWith("fake/missing", StringComparison.Ordinal))
        {
            throw new HotStartException($"image {request.Spec.Image} could not be pulled");
        }

        Interlocked.Increment(ref _started);
        _startedPerJob.AddOrUpdate(request.Job, 1, (_, n) => n + 1);
        var container = new Container(this, Interlocked.Increment(ref _serial), request.Job, output);
        _live[container.Serial] = container;
        ContainerStarted?.Invoke(request);
        return Task.FromResult<IHotContainer>(container);
    }

    private sealed class Container(FakeHotContainers owner, long serial, string job, IHotOutput output) : IHotContainer
    {
        private readonly Lock _lock = new();
        private readonly List<byte> _input = [];
        private bool _exited;

        public long Serial { get; } = serial;

        public string Job { get; } = job;

        public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                if (_exited)
                {
                    throw new IOException("the container has exited");
                }

                _input.AddRange(data.ToArray());
                while (TryTakeInvocation(out var taskId, out var payload))
                {
                    Answer(taskId, payload);
                    owner.InvokedSignal(taskId).TrySetResult();
                }
            }

            return Task.CompletedTask;
        }

        private bool TryTakeInvocation(out string taskId, out byte[] payload)
        {
            taskId = "";
            payload = [];
            var newline = _input.IndexOf((byte)'\n');
            if (newline < 0)
            {
                return false;
            }

            var header = Encoding.ASCII.GetString(_input.GetRange(0, newline).ToArray()).Split(' ');
            var length = int.Parse(header[3], CultureInfo.InvariantCulture);
            if (_input.Count < newline + 1 + length)
            {
                return false;
            }

            taskId = header[1];
            payload = _input.GetRange(newline + 1, length).ToArray();
            _input.RemoveRange(0, newline + 1 + length);
            return true;
        }

        private void Answer(string taskId, byte[] payload)
        {
            switch (Encoding.UTF8.GetString(payload))
            {
                case "hold":
                    return;
                case "die":
                    output.Stdout(Encoding.UTF8.GetBytes($"dying on {taskId}\n"));
                    Exit(3);
                    return;
                case "answer-then-exit":
                    Send(Encoding.UTF8.GetBytes("STEVEDORE-RESULT ok 0\n"));
                    Exit(0);
                    return;
                case "fail":
                    Send(Encoding.UTF8.GetBytes("STEVEDORE-RESULT error 4\nboom"));
                    return;
                case "malformed":
                    Send(Encoding.UTF8.GetBytes("STEVEDORE-RESULT maybe 3\nabc"));
                    return;
            }

            output.Stderr(Encoding.UTF8.GetBytes($"stderr of {taskId}\n"));
            var answer = new List<byte>();
            answer.AddRange(Encoding.UTF8.GetBytes($"log of {taskId}\nSTEVEDORE-RESULT ok {payload.Length}\n"));
            answer.AddRange(payload);
            Send([.. answer]);
        }

        /// <summary>Delivers stdout in pieces of up to 7 bytes, so the parser sees frames cut anywhere.</summary>
        private void Send(byte[] bytes)
        {
            for (var i = 0; i < bytes.Length; i += 7)
            {
                output.Stdout(bytes.AsSpan(i, Math.Min(7, bytes.Length - i)));
            }
        }

        private void Exit(long code)
        {
            _exited = true;
            owner._live.TryRemove(Serial, out _);
            output.Exited(code);
        }

        public ValueTask DisposeAsync()
        {
            lock (_lock)
            {
                if (!_exited)
                {
                    Exit(ContainerExits.KilledExitCode);
                }
            }

            return ValueTask.CompletedTask;
        }
    }
}
