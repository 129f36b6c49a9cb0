using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// A host without a token cannot be driven by a web page: JSON endpoints take JSON only (a cross-site form cannot send
/// it), only this machine's requests for the host's own loopback names are answered (no DNS rebinding), and requests a
/// browser marks as cross-site are refused. The headers here are the ones browsers send.
/// </summary>
[Collection(ServerCollection.Name)]
public class BrowserOriginTests(StevedoreServer server)
{
    private HttpClient Http => server.Http;
    private int Port => Http.BaseAddress!.Port;

    private async Task<string> PausedJobAsync()
    {
        var job = Names.Unique("web");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);
        return job;
    }

    private static ByteArrayContent Typed(string body, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        Assert.True(content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        return content;
    }

    private async Task<long> QueuedAsync(string job) =>
        (await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/stats")).GetProperty("queuedNow").GetInt64();

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/plain; charset=utf-8")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("text/json")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/jsonx")]
    public async Task JsonEndpoints_RefuseOtherContentTypes_With415_AndDoNothing(string contentType)
    {
        var job = await PausedJobAsync();
        HttpContent Body(string json) => Typed(json, contentType);

        await InvalidInputTests.ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks", Body("""{"payload":1}""")), HttpStatusCode.UnsupportedMediaType);
        await InvalidInputTests.ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks", Body("")), HttpStatusCode.UnsupportedMediaType);
        await InvalidInputTests.ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/tasks:batch", Body("""{"tasks":[{}]}""")), HttpStatusCode.UnsupportedMediaType);
        var put = await Http.PutAsync($"/v1/jobs/{job}", Body($$"""{"image":"{{StevedoreServer.Image}}","retries":3}"""));
        var problem = await InvalidInputTests.ProblemAsync(put, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("Content-Type: application/json", problem.GetProperty("detail").GetString());

        Assert.Equal(0, await QueuedAsync(job));
        Assert.Equal(0, (await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}")).GetProperty("retries").GetInt32());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task TriggerEndpoints_RefuseOtherContentTypes_With415_AndDoNothing(string contentType)
    {
        var topic = Names.Unique("web.topic");
        var job = Names.Unique("web");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" }, subscriptions = new[] { topic } });
        await Http.PostAsync($"/v1/jobs/{job}/pause", null);

        await InvalidInputTests.ProblemAsync(await Http.PostAsync($"/v1/events/{topic}", Typed("""{"order":1}""", contentType)), HttpStatusCode.UnsupportedMediaType);
        await InvalidInputTests.ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/schedules", Typed("""{"everySeconds":60}""", contentType)), HttpStatusCode.UnsupportedMediaType);
        await InvalidInputTests.ProblemAsync(await Http.PostAsync($"/v1/jobs/{job}/webhooks", Typed("{}", contentType)), HttpStatusCode.UnsupportedMediaType);

        Assert.Equal(0, await QueuedAsync(job));
        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>($"/v1/schedules?job={job}")).GetProperty("items").EnumerateArray());
        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/webhooks")).GetProperty("items").EnumerateArray());

        // The call of a webhook is the one endpoint that takes whatever the sender sends, as the payload byte for byte.
        var created = await Http.PostAsync($"/v1/jobs/{job}/webhooks", null);
        var hook = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        using var call = new HttpRequestMessage(HttpMethod.Post, $"/v1/hooks/{hook.GetProperty("id").GetString()}") { Content = Typed("a=1&b=2", contentType) };
        call.Headers.Add("X-Stevedore-Token", hook.GetProperty("secret").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await Http.SendAsync(call)).StatusCode);
        Assert.Equal(1, await QueuedAsync(job));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("APPLICATION/JSON; Charset=UTF-8")]
    [InlineData("application/vnd.stevedore.task+json")]
    public async Task JsonContentTypes_AreTaken(string contentType)
    {
        var job = await PausedJobAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await Http.PostAsync($"/v1/jobs/{job}/tasks", Typed("""{"payload":1}""", contentType))).StatusCode);
        Assert.Equal(1, await QueuedAsync(job));
    }

    [Fact]
    public async Task AnEmptyEnqueue_WithoutContentType_StillWorks()
    {
        var job = await PausedJobAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await Http.PostAsync($"/v1/jobs/{job}/tasks", null)).StatusCode);
        Assert.Equal(1, await QueuedAsync(job));
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:{port}")]
    [InlineData("127.0.0.1.nip.io:{port}")]
    [InlineData("127.0.0.1:1")]
    [InlineData("localhost.:{port}")]
    [InlineData("127.0.0.1")]
    public async Task OtherHostNames_Are421_OnEveryPath(string host)
    {
        foreach (var path in new[] { "/v1/jobs", "/healthz", "/dashboard/", "/v1/nothing" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            var problem = await InvalidInputTests.ProblemAsync(await Http.SendAsync(request), HttpStatusCode.MisdirectedRequest);
            Assert.Contains("Stevedore:Auth:AdminToken", problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task ARebindingPageCannotEnqueue()
    {
        // A page on http://evil.example:PORT whose name now points at 127.0.0.1 sends its own name as Host.
        var job = await PausedJobAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/tasks") { Content = InvalidInputTests.Json("{}"u8.ToArray()) };
        request.Headers.Host = $"evil.example:{Port}";
        request.Headers.Add("Origin", $"http://evil.example:{Port}");
        Assert.Equal(HttpStatusCode.MisdirectedRequest, (await Http.SendAsync(request)).StatusCode);
        Assert.Equal(0, await QueuedAsync(job));
    }

    [Theory]
    [InlineData("localhost:{port}")]
    [InlineData("[::1]:{port}")]
    [InlineData("127.0.0.1:{port}")]
    public async Task TheHostsOwnLoopbackNames_AreAnswered(string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        request.Headers.Host = host.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task ARequestWithoutHost_Is421()
    {
        var answer = await RawHttp.SendAsync(Http.BaseAddress!, RawHttp.Request("GET /v1/jobs HTTP/1.0", [], []), TimeSpan.FromSeconds(30));
        Assert.Equal(421, answer?.Status);
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Origin", "null")]
    [InlineData("Origin", "http://localhost:{port}")]
    [InlineData("Origin", "http://127.0.0.1:1")]
    [InlineData("Origin", "https://127.0.0.1:{port}")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    public async Task CrossSiteBrowserRequests_Are403_AndDoNothing(string header, string value)
    {
        var job = await PausedJobAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/tasks") { Content = InvalidInputTests.Json("{}"u8.ToArray()) };
        request.Headers.TryAddWithoutValidation(header, value.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        await InvalidInputTests.ProblemAsync(await Http.SendAsync(request), HttpStatusCode.Forbidden);
        using var read = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        read.Headers.TryAddWithoutValidation(header, value.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await Http.SendAsync(read)).StatusCode);
        Assert.Equal(0, await QueuedAsync(job));
    }

    [Fact]
    public async Task SameOriginBrowserRequests_AreAnswered()
    {
        var job = await PausedJobAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/tasks") { Content = InvalidInputTests.Json("{}"u8.ToArray()) };
        request.Headers.Add("Origin", $"http://127.0.0.1:{Port}");
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.Accepted, (await Http.SendAsync(request)).StatusCode);

        using var typed = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        typed.Headers.Add("Sec-Fetch-Site", "none");
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(typed)).StatusCode);
    }

    [Fact]
    public async Task RequestsFromAnotherAddress_Are403()
    {
        // Connect to the loopback port from one of this machine's other addresses: the server sees a non-loopback peer.
        var other = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(other is not null, "this machine has no non-loopback IPv4 address to test from");

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(other, 0));
        await socket.ConnectAsync(IPAddress.Loopback, Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:{Port}\r\nConnection: close\r\n\r\n"), SocketFlags.None);
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        var head = Encoding.ASCII.GetString(buffer, 0, read);
        Assert.StartsWith("HTTP/1.1 403", head);
    }
}
