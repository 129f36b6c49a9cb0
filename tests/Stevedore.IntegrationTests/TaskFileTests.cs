using System.Globalization;
using System.Text;

namespace Stevedore.IntegrationTests;

/// <summary>
/// The payload and result files, and bytes that are not text, run against each way task files travel: a
/// bind-mounted folder (local engine) and copies through the engine API (remote engine).
/// </summary>
public abstract class TaskFileTests(StevedoreServer server)
{
    private const int ResultCap = 1024 * 1024;

    private Task<string> JobAsync(string script) => JobAsync(Names.Unique("files"), script);

    private async Task<string> JobAsync(string name, string script)
    {
        await server.PutJobAsync(name, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", script } });
        return name;
    }

    [Fact]
    public async Task PayloadFileAndResult_TravelBetweenHostAndContainer()
    {
        var job = await JobAsync("echo \"file=$(cat $STEVEDORE_PAYLOAD_FILE) stdin=$(cat)\"; cat $STEVEDORE_PAYLOAD_FILE > $STEVEDORE_RESULT_FILE");
        const string payload = "ünïcode ✓";

        var id = await server.EnqueueAsync(job, new { payload });
        var task = await server.WaitForEndAsync(id);

        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal($"file={payload} stdin={payload}\n", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));
        Assert.Equal(payload, Encoding.UTF8.GetString(await server.Http.GetByteArrayAsync($"/v1/tasks/{id}/result")));
        await Containers.GoneAsync(id);
    }

    [Theory]
    [InlineData(1000, true)]
    [InlineData(ResultCap, true)]
    [InlineData(ResultCap + 1, false)]
    public async Task ResultFile_UpTo1MiB_IsKept_LargerIsDropped_AndTheLogSaysSo(int bytes, bool kept)
    {
        var job = await JobAsync("head -c \"$(cat)\" /dev/zero | tr '\\0' r > $STEVEDORE_RESULT_FILE");

        var id = await server.EnqueueAsync(job, new { payload = bytes.ToString(CultureInfo.InvariantCulture) });
        var task = await server.WaitForEndAsync(id);

        var result = await server.Http.GetAsync($"/v1/tasks/{id}/result");
        var log = await server.Http.GetStringAsync($"/v1/tasks/{id}/log");
        Assert.True(task.GetProperty("status").GetString() == "succeeded", $"{task}\n{log}");
        if (kept)
        {
            var body = await result.Content.ReadAsByteArrayAsync();
            Assert.Equal(bytes, body.Length);
            Assert.All(body, b => Assert.Equal((byte)'r', b));
            Assert.Equal("", log);
        }
        else
        {
            Assert.True(result.StatusCode == System.Net.HttpStatusCode.NotFound, $"{result.StatusCode}, {(await result.Content.ReadAsByteArrayAsync()).Length} bytes; log: {log}");
            Assert.Contains($"result file of {bytes} bytes not kept: the limit is {ResultCap} bytes", log);
        }

        await Containers.GoneAsync(id);
    }

    [Fact]
    public async Task BinaryResult_AndALogThatIsNotUtf8_ComeBackByteForByte()
    {
        // busybox printf: octal escapes, so the bytes (NUL, 0xFF, a Latin-1 é) never pass through the shell as text.
        var job = await JobAsync("printf '\\000\\001\\377\\376bin' > $STEVEDORE_RESULT_FILE; printf 'caf\\351 \\377\\n'; printf '\\200err' >&2");

        var id = await server.EnqueueAsync(job);
        var task = await server.WaitForEndAsync(id);

        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        var result = await server.Http.GetAsync($"/v1/tasks/{id}/result");
        Assert.Equal("application/octet-stream", result.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0, 1, 0xFF, 0xFE, (byte)'b', (byte)'i', (byte)'n' }, await result.Content.ReadAsByteArrayAsync());
        Assert.Equal(new byte[] { (byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)' ', 0xFF, (byte)'\n' }, await server.Http.GetByteArrayAsync($"/v1/tasks/{id}/log?stream=stdout"));
        Assert.Equal(new byte[] { 0x80, (byte)'e', (byte)'r', (byte)'r' }, await server.Http.GetByteArrayAsync($"/v1/tasks/{id}/log?stream=stderr"));
    }
}

/// <summary>Task files through a bind-mounted folder: the default with a local engine.</summary>
[Collection(ServerCollection.Name)]
public class BindModeTests(StevedoreServer server) : TaskFileTests(server);
