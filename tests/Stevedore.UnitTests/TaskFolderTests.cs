using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Stevedore.Execution;
using Stevedore.Execution.Docker;
using Stevedore.Execution.Docker.TaskFiles;
using Stevedore.Storage;

namespace Stevedore.UnitTests;

/// <summary>
/// How the host reads a result file a job controls, and how it makes its task-files folder private: on the real
/// filesystem of this machine, without Docker.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TaskFolderTests : IDisposable
{
    private const int Max = 1024;
    private readonly string _dir = Directory.CreateTempSubdirectory("stevedore-unit-").FullName;
    private readonly Log _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private ReadOnlyMemory<byte>? Read(string name) => ResultFile.ReadFromHost(PathOf(name), Max, _log);

    [Fact]
    public void RegularFile_UpToTheLimit_IsRead()
    {
        File.WriteAllBytes(PathOf("result"), Enumerable.Repeat((byte)'r', Max).ToArray());

        Assert.Equal(Max, Read("result")!.Value.Length);
        Assert.Equal("", _log.Text);
    }

    [Fact]
    public void EmptyRegularFile_IsAnEmptyResult()
    {
        File.WriteAllBytes(PathOf("result"), []);

        var result = Read("result");

        Assert.NotNull(result);
        Assert.Equal(0, result.Value.Length);
    }

    [Fact]
    public void MissingFile_IsNoResult_AndNoLogLine()
    {
        Assert.Null(Read("result"));
        Assert.Equal("", _log.Text);
    }

    [Fact]
    public void FileOverTheLimit_IsNotKept_AndTheLogSaysSo()
    {
        File.WriteAllBytes(PathOf("result"), new byte[Max + 1]);

        Assert.Null(Read("result"));
        Assert.Equal($"[stevedore] result file of {Max + 1} bytes not kept: the limit is {Max} bytes\n", _log.Text);
    }

    [Theory]
    [InlineData("/etc/hostname")]
    [InlineData("/proc/self/environ")]
    [InlineData("/dev/zero")]
    [InlineData("/nonexistent")]
    public void SymbolicLink_IsNeverFollowed(string target)
    {
        File.CreateSymbolicLink(PathOf("result"), target);

        Assert.Null(Read("result"));
        Assert.Equal("[stevedore] result file not kept: it is a symbolic link, not a regular file\n", _log.Text);
    }

    [Fact]
    public async Task Fifo_IsNotRead_AndDoesNotBlock()
    {
        using (var mkfifo = Process.Start("mkfifo", PathOf("result")))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var read = Task.Run(() => Read("result"));

        Assert.Same(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Null(await read);
        Assert.Equal("[stevedore] result file not kept: it is a FIFO (named pipe), not a regular file\n", _log.Text);
    }

    [Fact]
    public void Directory_IsNotRead()
    {
        Directory.CreateDirectory(PathOf("result"));

        Assert.Null(Read("result"));
        Assert.Equal("[stevedore] result file not kept: it is a directory, not a regular file\n", _log.Text);
    }

    [Fact]
    public void TaskFilesPath_IsMadePrivate_WhenItIsAFolderOfThisUser()
    {
        var path = PathOf("tasks");
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)0x1FF);

        BindMountedTaskFiles.Open(new DockerOptions { TaskFilesPath = path }, NullLogger.Instance);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
    }

    [Fact]
    public void TaskFilesPath_ThatIsALink_IsRefused()
    {
        var elsewhere = Directory.CreateDirectory(PathOf("elsewhere")).FullName;
        var path = PathOf("tasks");
        File.CreateSymbolicLink(path, elsewhere);

        var ex = Assert.Throws<IOException>(() => BindMountedTaskFiles.Open(new DockerOptions { TaskFilesPath = path }, NullLogger.Instance));

        Assert.Contains("is a symbolic link, not a folder", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
    }

    [Fact]
    public void TaskFilesPath_OfAnotherUser_IsRefused()
    {
        var path = PathOf("tasks");
        Directory.CreateDirectory(path);
        using (var chown = Process.Start("chown", ["65534", path]))
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }

        var ex = Assert.Throws<IOException>(() => BindMountedTaskFiles.Open(new DockerOptions { TaskFilesPath = path }, NullLogger.Instance));

        Assert.Contains("belongs to user 65534", ex.Message);
    }

    private sealed class Log : ITaskLogWriter
    {
        private readonly StringBuilder _text = new();

        public string Text => _text.ToString();

        public void Write(LogStream stream, ReadOnlySpan<byte> data) => _text.Append(Encoding.UTF8.GetString(data));
    }
}
