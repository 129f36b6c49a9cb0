namespace Stevedore.Execution.Hot;

/// <summary>What the parser finds in a hot container's standard output.</summary>
public interface IHotFrameSink
{
    /// <summary>Bytes that are not part of a response: the current task's log.</summary>
    void Log(ReadOnlySpan<byte> data);

    /// <summary>A whole response: ok with its result, or error with its message.</summary>
    void Response(bool ok, ReadOnlyMemory<byte> body);

    /// <summary>A response line that breaks the protocol; nothing more is parsed.</summary>
    void Malformed(string reason);
}

/// <summary>
/// Splits a hot container's standard output into log bytes and response frames, as the bytes arrive in pieces of any
/// size. Pure and bounded: it holds at most one header line (<see cref="HotProtocol.MaxHeaderBytes"/>) and one
/// response body of at most the length the caller allows; log bytes pass straight through.
/// </summary>
public sealed class HotOutputParser(IHotFrameSink sink, int maxBodyBytes)
{
    private enum State { LineStart, MidLine, Header, Body, Broken }

    private readonly byte[] _header = new byte[HotProtocol.MaxHeaderBytes];
    private State _state = State.LineStart;
    private int _headerLength;
    private byte[] _body = [];
    private int _bodyFilled;
    private bool _bodyOk;

    /// <summary>True once a malformed frame was seen: the container must be replaced.</summary>
    public bool Broken => _state == State.Broken;

    /// <summary>True while a response has begun but not all of its bytes have arrived.</summary>
    public bool InResponse => _state is State.Body || (_state is State.Header && _headerLength >= HotProtocol.ResultPrefix.Length);

    public void Feed(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            switch (_state)
            {
                case State.Broken:
                    return;
                case State.LineStart:
                    _state = data[0] == HotProtocol.ResultPrefix[0] ? State.Header : State.MidLine;
                    _headerLength = 0;
                    break;
                case State.MidLine:
                {
                    var newline = data.IndexOf((byte)'\n');
                    var run = newline < 0 ? data : data[..(newline + 1)];
                    sink.Log(run);
                    data = data[run.Length..];
                    if (newline >= 0)
                    {
                        _state = State.LineStart;
                    }

                    break;
                }

                case State.Header:
                    data = FeedHeader(data);
                    break;
                case State.Body:
                {
                    var take = Math.Min(data.Length, _body.Length - _bodyFilled);
                    data[..take].CopyTo(_body.AsSpan(_bodyFilled));
                    _bodyFilled += take;
                    data = data[take..];
                    if (_bodyFilled == _body.Length)
                    {
                        EndResponse();
                    }

                    break;
                }
            }
        }
    }

    private ReadOnlySpan<byte> FeedHeader(ReadOnlySpan<byte> data)
    {
        var prefix = HotProtocol.ResultPrefix;
        while (!data.IsEmpty)
        {
            var b = data[0];
            if (_headerLength < prefix.Length && b != prefix[_headerLength])
            {
                // Not a response after all: what was held back is an ordinary log line.
                sink.Log(_header.AsSpan(0, _headerLength));
                _state = State.MidLine;
                return data;
            }

            data = data[1..];
            if (b == (byte)'\n')
            {
                var parsed = HotProtocol.ParseHeader(_header.AsSpan(0, _headerLength), maxBodyBytes, out var error);
                if (parsed is not { } header)
                {
                    Break($"malformed response frame: {error}");
                    return default;
                }

                _bodyOk = header.Ok;
                _body = header.Length == 0 ? [] : new byte[header.Length];
                _bodyFilled = 0;
                _state = State.Body;
                if (header.Length == 0)
                {
                    EndResponse();
                }

                return data;
            }

            if (_headerLength == _header.Length)
            {
                Break($"malformed response frame: the STEVEDORE-RESULT line is longer than {HotProtocol.MaxHeaderBytes} bytes");
                return default;
            }

            _header[_headerLength++] = b;
        }

        return data;
    }

    private void EndResponse()
    {
        var body = _body;
        _body = [];
        _state = State.LineStart;
        sink.Response(_bodyOk, body);
    }

    private void Break(string reason)
    {
        _state = State.Broken;
        _body = [];
        sink.Malformed(reason);
    }
}
