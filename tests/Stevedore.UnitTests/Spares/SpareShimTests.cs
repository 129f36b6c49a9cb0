using System.Diagnostics;
using System.Text;
using Stevedore.Execution.Docker.Spares;

namespace Stevedore.UnitTests.Spares;

/// <summary>The spare's shim: the env file a shell reads back byte for byte, the argv it runs, the static check.</summary>
public class SpareShimTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("it's")]
    [InlineData("'")]
    [InlineData("''\\''")]
    [InlineData("$(touch /tmp/pwned) `id` ${HOME} $HOME")]
    [InlineData("two\nlines\n")]
    [InlineData("tab\tand \\ backslash; rm -rf / & echo")]
    [InlineData("héllo ✓ 日本語")]
    [InlineData("")]
    public void EnvScript_GivesEveryValueBackExactly_ThroughARealShell(string value)
    {
        var script = SpareShim.EnvScript([new("STEVEDORE_HOOK_X", value), new("B_2", "second")]);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, script, new UTF8Encoding(false));
            // The script is sourced, then the variables are printed with NUL after each, as the job would see them.
            var start = new ProcessStartInfo("/bin/sh", ["-c", ". \"$1\" && printf '%s<E>%s<E>' \"$STEVEDORE_HOOK_X\" \"$B_2\"", "sh", file])
            {
                RedirectStandardOutput = true,
                StandardOutputEncoding = new UTF8Encoding(false),
            };
            using var shell = Process.Start(start)!;
            var output = shell.StandardOutput.ReadToEnd();
            shell.WaitForExit();
            Assert.Equal(0, shell.ExitCode);
            Assert.Equal($"{value}<E>second<E>", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("1X")]
    [InlineData("A-B")]
    [InlineData("A B")]
    [InlineData("X;rm")]
    [InlineData("")]
    public void NamesThatAreNotShellVariables_CannotBeCarried_AndAreRefused(string name)
    {
        Assert.False(SpareShim.CanCarry(new Dictionary<string, string> { [name] = "v" }));
        Assert.Throws<ArgumentException>(() => SpareShim.EnvScript([new(name, "v")]));
    }

    [Fact]
    public void TheShellsOwnVariables_AreGivenBackAsTheContainerHadThem_OrUnset()
    {
        var variables = SpareShim.ShellVariables(["PATH=/bin", "PWD=/image", "SHLVL=x", "PWD=/job=dir", "BROKEN"]);
        Assert.Equal([new KeyValuePair<string, string?>("SHLVL", "x"), new("PWD", "/job=dir"), new("OLDPWD", null)], variables);
        Assert.Equal("export SHLVL='x'\nexport PWD='/job=dir'\nunset OLDPWD\n", SpareShim.EnvScript(variables));
    }

    [Fact]
    public void AValueWithNul_CannotBeCarried()
    {
        Assert.True(SpareShim.CanCarry(new Dictionary<string, string> { ["STEVEDORE_HOOK_A"] = "x" }));
        Assert.False(SpareShim.CanCarry(new Dictionary<string, string> { ["STEVEDORE_HOOK_A"] = "x\0y" }));
    }

    [Fact]
    public void Argv_IsTheImagesEntrypoint_ThenTheJobsCommandOrElseTheImages()
    {
        Assert.Equal(["/entry", "-v", "run"], SpareShim.Argv(["/entry", "-v"], ["default"], ["run"]));
        Assert.Equal(["/entry", "default"], SpareShim.Argv(["/entry"], ["default"], null));
        Assert.Equal(["sh", "-c", "x"], SpareShim.Argv(null, ["sh"], ["sh", "-c", "x"]));
        Assert.Empty(SpareShim.Argv(null, null, null));
    }

    [Fact]
    public void CheckStatic_TellsStaticFromDynamicFromNotAnExecutable()
    {
        // This process's own executable is dynamically linked on every Linux the suite runs on.
        Assert.Contains("dynamically linked", SpareShim.CheckStatic(Environment.ProcessPath!));
        Assert.Contains("not a 64-bit", SpareShim.CheckStatic(Encoding.ASCII.GetBytes(new string('x', 100)), "text"));
        Assert.Contains("cannot be read", SpareShim.CheckStatic("/nonexistent/busybox"));

        // A minimal static ELF header: one program header, of type PT_LOAD (1).
        var elf = new byte[64 + 56];
        "\u007fELF"u8.CopyTo(elf);
        elf[4] = 2;
        elf[5] = 1;
        BitConverter.GetBytes(64UL).CopyTo(elf, 0x20);
        BitConverter.GetBytes((ushort)56).CopyTo(elf, 0x36);
        BitConverter.GetBytes((ushort)1).CopyTo(elf, 0x38);
        elf[64] = 1;
        Assert.Null(SpareShim.CheckStatic(elf, "static"));
        elf[64] = 3; // PT_INTERP
        Assert.Contains("dynamically linked", SpareShim.CheckStatic(elf, "dynamic"));
    }
}
