using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>The register-tile shapes a GEMM uses, by the size of the vector register file they are made for.</summary>
internal enum TileFamily
{
    /// <summary>16 vector registers (AVX2, AVX, SSE, and the scalar path's 16 xmm).</summary>
    Registers16,

    /// <summary>32 vector registers (AVX-512, NEON).</summary>
    Registers32,
}

/// <summary>
/// How the kernels run on one instruction set: the vector width, the GEMM's register tiles (sized for the register
/// file), its K block, and the column unit threads split products by. A policy is chosen once — when a
/// <see cref="Training.Trainer"/>, <see cref="Inference.InferenceModel"/> or <see cref="Training.DenseRnn"/> is made — and
/// held by it; every kernel call takes it. <see cref="Available"/> lists the policies this CPU can run, widest first, so
/// tests and benchmarks can exercise each on one machine; <see cref="Default"/> is the widest, unless the environment
/// variable <c>CHARRNN_ISA</c> forces another.
/// </summary>
public sealed class KernelPolicy
{
    /// <summary>The environment variable read once at start-up: <c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c> (also <c>avx512</c>, <c>avx2</c>, <c>sse</c>, <c>neon</c>).</summary>
    public const string EnvironmentVariable = "CHARRNN_ISA";

    private KernelPolicy(string name, VectorPath path, TileFamily tiles, int kBlock)
    {
        Name = name;
        Path = path;
        Tiles = tiles;
        if (kBlock is < 1 or > MaxKBlock) throw new ArgumentOutOfRangeException(nameof(kBlock), kBlock, $"a K block is 1..{MaxKBlock} deep");
        KBlock = kBlock;
    }

    /// <summary>512-bit vectors, 32 registers.</summary>
    public static KernelPolicy Avx512 { get; } = new("avx512", VectorPath.V512, TileFamily.Registers32, kBlock: 128);

    /// <summary>256-bit vectors, 16 registers (AVX2 + FMA).</summary>
    public static KernelPolicy Avx2 { get; } = new("avx2", VectorPath.V256, TileFamily.Registers16, kBlock: 256);

    /// <summary>128-bit vectors, 16 registers (x86 SSE).</summary>
    public static KernelPolicy Sse { get; } = new("sse", VectorPath.V128, TileFamily.Registers16, kBlock: 256);

    /// <summary>128-bit vectors, 32 registers (Arm NEON / AdvSIMD).</summary>
    public static KernelPolicy Neon { get; } = new("neon", VectorPath.V128, TileFamily.Registers32, kBlock: 128);

    /// <summary>One float at a time (the reference for the vector paths' arithmetic order).</summary>
    public static KernelPolicy Scalar { get; } = new("scalar", VectorPath.Scalar, TileFamily.Registers16, kBlock: 128);

    /// <summary>Short name: <c>avx512</c>, <c>avx2</c>, <c>sse</c>, <c>neon</c> or <c>scalar</c>.</summary>
    public string Name { get; }

    /// <summary>The vector width.</summary>
    public VectorPath Path { get; }

    /// <summary>Floats per vector (1 on the scalar path).</summary>
    public int Width => Path == VectorPath.Scalar ? 1 : (int)Path / 32;

    /// <summary>The register file the GEMM tiles are sized for.</summary>
    internal TileFamily Tiles { get; }

    /// <summary>Vector registers the tiles assume: 16 or 32.</summary>
    public int VectorRegisters => Tiles == TileFamily.Registers32 ? 32 : 16;

    /// <summary>
    /// Whether the path's multiply-add is fused (one rounding): the 512- and 256-bit paths and Arm's; x86's 128-bit and
    /// scalar paths multiply, then add, as the SSE4.2 CPUs they serve must (see <see cref="ISimd{TVec}.MultiplyAdd"/>).
    /// Policies with the same answer compute the compact kernels' columns to the same bits.
    /// </summary>
    public bool FusedMultiplyAdd => Path is VectorPath.V512 or VectorPath.V256 || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;

    /// <summary>
    /// Rows of the GEMM's main register tile: 6 with 16 registers (6 × 2 vectors: 12 accumulators, 2 B vectors and a
    /// broadcast, as BLIS's Haswell kernel), 4 with 32 (4 × 4: 16 accumulators and 4 B vectors).
    /// </summary>
    public int TileRows => Tiles == TileFamily.Registers32 ? 4 : 6;

    /// <summary>Vectors across the main register tile: 4 with 32 registers, 2 with 16.</summary>
    public int TileVectors => Tiles == TileFamily.Registers32 ? 4 : 2;

    /// <summary>Floats across the main tile, the width of a <see cref="PackedMatrix"/> panel.</summary>
    public int PanelWidth => TileVectors * Width;

    /// <summary>
    /// Depth of one K block of the GEMM: the B panel a tile reads stays in L1 (128 × 64 floats, 32 KiB, for the 4 × 4
    /// tile at 512 bits). The 6 × 2 tiles of avx2 and sse have panels 16 and 8 floats wide, so they go 256 deep (16 and
    /// 8 KiB), which halves their C loads and stores. At most <see cref="MaxKBlock"/>.
    /// </summary>
    public int KBlock { get; }

    /// <summary>The deepest K block any policy uses (kernels size their stack scratch by it).</summary>
    public const int MaxKBlock = 256;

    /// <summary>
    /// Column splits of a product at multiples of this keep every element's tile, and so its rounding: threaded results
    /// are bit-identical to one thread. The same on every policy (a multiple of each one's panel width and of its
    /// widest single-row tile, 8 vectors).
    /// </summary>
    public int ColumnSplitUnit => 128;

    /// <summary>
    /// Whether a product over the units [<paramref name="first"/>, <paramref name="end"/>) of every gate (G blocks of
    /// <paramref name="h"/> columns) may run as one call over all G·H columns instead of one call per gate: it covers every
    /// unit and H is a multiple of <see cref="ColumnSplitUnit"/>, so the gate boundaries are split points and every column
    /// gets the FMAs of the per-gate calls.
    /// </summary>
    public bool GatesRunAsOne(int h, int first, int end) => first == 0 && end == h && h % ColumnSplitUnit == 0;

    /// <summary>Every policy this CPU runs, widest first; <see cref="Scalar"/> is always last.</summary>
    public static IReadOnlyList<KernelPolicy> Available { get; } = DetectAvailable();

    /// <summary>The widest policy this CPU runs.</summary>
    public static KernelPolicy Best => Available[0];

    private static KernelPolicy? _default;

    /// <summary>
    /// The policy new trainers and models get: <see cref="Best"/>, or the one <c>CHARRNN_ISA</c> names. Throws
    /// <see cref="InvalidOperationException"/> when <c>CHARRNN_ISA</c> names no policy.
    /// </summary>
    public static KernelPolicy Default => _default ??= FromEnvironment(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>"avx512 (512-bit, 32 registers)".</summary>
    public override string ToString() => $"{Name} ({VectorPaths.Describe(Path)}, {VectorRegisters} registers)";

    /// <summary>
    /// The policy <paramref name="text"/> names (see <see cref="EnvironmentVariable"/>); a width this CPU lacks falls back to
    /// the widest available one below it, so one script runs everywhere. Throws <see cref="FormatException"/> for a name
    /// that is not a policy.
    /// </summary>
    public static KernelPolicy Select(string text)
    {
        if (!VectorPaths.TryParse(text, out var path))
            throw new FormatException($"'{text}' is not a vector path; use 512, 256, 128 or scalar (or avx512, avx2, sse, neon)");
        foreach (var p in Available)
            if (p.Path <= path) return p;
        return Scalar;
    }

    internal static KernelPolicy FromEnvironment(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Best;
        try { return Select(text); }
        catch (FormatException e) { throw new InvalidOperationException($"{EnvironmentVariable}: {e.Message}", e); }
    }

    private static List<KernelPolicy> DetectAvailable()
    {
        var policies = new List<KernelPolicy>();
        if (Vector512.IsHardwareAccelerated) policies.Add(Avx512);
        if (Vector256.IsHardwareAccelerated) policies.Add(Avx2);
        if (Vector128.IsHardwareAccelerated) policies.Add(System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? Neon : Sse);
        policies.Add(Scalar);
        return policies;
    }
}
