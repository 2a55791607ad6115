using CharRnn.Fast.Kernels;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>`charrnn --version`: the version every package shares, the build (JIT here) and the kernel policy.</summary>
public sealed class VersionTests
{
    private static readonly string Version = typeof(KernelPolicy).Assembly.GetName().Version!.ToString(3);

    [Fact]
    public void Version_names_the_shared_version_the_build_and_the_kernel_policy()
    {
        var r = Run(AppContext.BaseDirectory, "--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"charrnn {Version} (JIT build, kernels {KernelPolicy.Default})\n", r.Stdout);
    }

    [Fact]
    public void The_environment_still_forces_the_kernel_policy()
    {
        var info = StartInfo(AppContext.BaseDirectory, "--version");
        info.Environment[KernelPolicy.EnvironmentVariable] = "scalar";
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000));
        Assert.Equal(0, process.ExitCode);
        Assert.Equal($"charrnn {Version} (JIT build, kernels {KernelPolicy.Scalar})\n", stdout);
    }

    [Fact]
    public void The_tool_is_a_plain_jit_app_without_the_switches_that_mimic_native_aot()
    {
        // PublishAot in a plain build would turn dynamic code and EventSource off; only release/build publishes NativeAOT.
        var config = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "charrnn.runtimeconfig.json"));
        Assert.DoesNotContain("IsDynamicCodeSupported", config);
        Assert.DoesNotContain("EventSource.IsSupported", config);
    }
}
