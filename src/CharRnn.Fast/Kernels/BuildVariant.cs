using System.Runtime;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// What the running machine code was compiled for. Under the JIT it is compiled on the CPU it runs on, so
/// <see cref="KernelPolicy.Available"/> reaches the widest vectors there. A NativeAOT build fixes its vector widths when
/// it is published, for the instruction set it names (<c>IlcInstructionSet</c>: x86-64-v2, -v3, -v4, native …); the
/// build records that name as the runtime setting <see cref="SettingName"/> (Directory.Build.props).
/// </summary>
public static class BuildVariant
{
    /// <summary>The runtime setting (AppContext data) that holds the instruction set a NativeAOT build compiled for.</summary>
    public const string SettingName = "CharRnn.BuildVariant";

    /// <summary>"JIT", the instruction set a NativeAOT build compiled for ("x86-64-v4"), or "NativeAOT" when it named none.</summary>
    /// <remarks>
    /// The JIT is recognised by what it has done (compiled methods in this process; NativeAOT reports none), not by
    /// <c>RuntimeFeature.IsDynamicCodeCompiled</c>, which a JIT build made with <c>PublishAot</c> also reports false.
    /// </remarks>
    public static string Name { get; } =
        JitInfo.GetCompiledMethodCount() > 0 ? "JIT" : AppContext.GetData(SettingName) as string ?? "NativeAOT";
}
