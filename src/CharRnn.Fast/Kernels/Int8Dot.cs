using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The instruction sequences the int8 product can run on. A kernel policy picks one (<see cref="Int8Paths.For"/>); tests
/// run every one this CPU has (<see cref="Int8Paths.Available"/>), including those no policy here picks. All give the same
/// integer sums, so the same results bit for bit.
/// </summary>
internal enum Int8Path
{
    /// <summary>512-bit vpmaddubsw + vpmaddwd (AVX-512 BW), 16 columns a vector.</summary>
    Avx512,

    /// <summary>256-bit vpdpbusd (AVX-VNNI, VEX-encoded: Alder Lake and later, Zen 5), 8 columns.</summary>
    AvxVnni,

    /// <summary>256-bit vpmaddubsw + vpmaddwd (AVX2), 8 columns.</summary>
    Avx2,

    /// <summary>128-bit pmaddubsw + pmaddwd (SSSE3), 4 columns.</summary>
    Ssse3,

    /// <summary>128-bit 16-bit multiplies through portable vector operations (the NEON policy's path), 4 columns.</summary>
    Portable128,

    /// <summary>One column at a time.</summary>
    Scalar,
}

internal static class Int8Paths
{
    /// <summary>Every path this CPU runs.</summary>
    public static IReadOnlyList<Int8Path> Available { get; } = Detect();

    /// <summary>
    /// The path <paramref name="policy"/> runs: AVX-VNNI where the CPU has it, else vpmaddubsw at the policy's width;
    /// NEON's own dot instruction (sdot) is not used yet (no Arm machine to test it on), its policy takes the portable
    /// 128-bit path.
    /// </summary>
    public static Int8Path For(KernelPolicy policy) => policy.Path switch
    {
        VectorPath.V512 => Int8Path.Avx512,
        VectorPath.V256 => AvxVnni.IsSupported ? Int8Path.AvxVnni : Int8Path.Avx2,
        VectorPath.V128 => Ssse3.IsSupported ? Int8Path.Ssse3 : Int8Path.Portable128,
        _ => Int8Path.Scalar,
    };

    /// <summary>Columns per vector.</summary>
    public static int Width(Int8Path path) => path switch
    {
        Int8Path.Avx512 => 16,
        Int8Path.AvxVnni or Int8Path.Avx2 => 8,
        Int8Path.Ssse3 or Int8Path.Portable128 => 4,
        _ => 1,
    };

    private static List<Int8Path> Detect()
    {
        var paths = new List<Int8Path>();
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported) paths.Add(Int8Path.Avx512);
        if (AvxVnni.IsSupported) paths.Add(Int8Path.AvxVnni);
        if (Avx2.IsSupported) paths.Add(Int8Path.Avx2);
        if (Ssse3.IsSupported) paths.Add(Int8Path.Ssse3);
        if (Vector128.IsHardwareAccelerated) paths.Add(Int8Path.Portable128);
        paths.Add(Int8Path.Scalar);
        return paths;
    }
}

// The int8 product: weights and activations are whole numbers in [−127, 127] (never −128), a column holds 4 k per lane.
// x86 multiplies bytes only unsigned × signed (vpmaddubsw), so each product x·w is formed as |x|·(w with x's sign), as
// llama.cpp does: the pairs it adds into 16 bits are then at most 2·127·127 = 32258 < 2¹⁵ and never saturate. vpmaddwd
// against ones adds the pairs into 32-bit lanes. Sums are exact while K·127² < 2³¹ (CompactMatrix.MaxInt8Rows).

/// <summary>int8, 512 bits (AVX-512 BW): |x| in the first input vector, x &lt; 0 as a byte mask in the second.</summary>
internal readonly struct Int8DotAvx512 : IInt8Dot<Vector512<float>>
{
    public static int InputGroupBytes => 4;
    public static bool Scaled => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector512<float>> LoadInput(ref readonly byte group)
    {
        var x = Vector512.Create(Unsafe.ReadUnaligned<int>(in group)).AsSByte();
        return new(Vector512.Abs(x).AsSingle(), Vector512.LessThan(x, Vector512<sbyte>.Zero).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector512<float>> LoadWeights(ref readonly byte group) => new(Vector512.LoadUnsafe(in group).AsSingle(), default);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Accumulate(Vector512<float> acc, VectorPair<Vector512<float>> x, VectorPair<Vector512<float>> w)
    {
        // AVX-512 has no vpsignb: negate w where x < 0 as (w ^ m) − m with m = 0 or −1
        var negative = x.Second.AsSByte();
        var signed = (w.First.AsSByte() ^ negative) - negative;
        var pairs = Avx512BW.MultiplyAddAdjacent(x.First.AsByte(), signed);
        return (acc.AsInt32() + Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create((short)1))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToFloat(Vector512<float> acc) => Vector512.ConvertToSingle(acc.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt8(Vector512<float> integral, ref sbyte destination)
        => Avx512F.ConvertToVector128SByte(Vector512.ConvertToInt32(integral)).StoreUnsafe(ref destination);
}

/// <summary>int8, 256 bits with AVX-VNNI: vpdpbusd adds the four |x|·±w of a lane into it in one instruction.</summary>
internal readonly struct Int8DotAvxVnni : IInt8Dot<Vector256<float>>
{
    public static int InputGroupBytes => 4;
    public static bool Scaled => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector256<float>> LoadInput(ref readonly byte group) => Int8DotAvx2.LoadInput(in group);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector256<float>> LoadWeights(ref readonly byte group) => Int8DotAvx2.LoadWeights(in group);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Accumulate(Vector256<float> acc, VectorPair<Vector256<float>> x, VectorPair<Vector256<float>> w)
        => AvxVnni.MultiplyWideningAndAdd(acc.AsInt32(), x.First.AsByte(), Avx2.Sign(w.First.AsSByte(), x.Second.AsSByte())).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector256<float> acc) => Vector256.ConvertToSingle(acc.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt8(Vector256<float> integral, ref sbyte destination) => Int8DotAvx2.StoreInt8(integral, ref destination);
}

/// <summary>int8, 256 bits (AVX2): |x| in the first input vector, x itself (vpsignb's sign source) in the second.</summary>
internal readonly struct Int8DotAvx2 : IInt8Dot<Vector256<float>>
{
    public static int InputGroupBytes => 4;
    public static bool Scaled => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector256<float>> LoadInput(ref readonly byte group)
    {
        var x = Vector256.Create(Unsafe.ReadUnaligned<int>(in group)).AsSByte();
        return new(Vector256.Abs(x).AsSingle(), x.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector256<float>> LoadWeights(ref readonly byte group) => new(Vector256.LoadUnsafe(in group).AsSingle(), default);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Accumulate(Vector256<float> acc, VectorPair<Vector256<float>> x, VectorPair<Vector256<float>> w)
    {
        var pairs = Avx2.MultiplyAddAdjacent(x.First.AsByte(), Avx2.Sign(w.First.AsSByte(), x.Second.AsSByte()));
        return (acc.AsInt32() + Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector256<float> acc) => Vector256.ConvertToSingle(acc.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt8(Vector256<float> integral, ref sbyte destination)
    {
        var ints = Vector256.ConvertToInt32(integral);
        var shorts = Vector128.Narrow(ints.GetLower(), ints.GetUpper());
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref destination), Vector128.Narrow(shorts, shorts).AsInt64().ToScalar());
    }
}

/// <summary>int8, 128 bits (SSSE3), as <see cref="Int8DotAvx2"/>.</summary>
internal readonly struct Int8DotSsse3 : IInt8Dot<Vector128<float>>
{
    public static int InputGroupBytes => 4;
    public static bool Scaled => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector128<float>> LoadInput(ref readonly byte group)
    {
        var x = Vector128.Create(Unsafe.ReadUnaligned<int>(in group)).AsSByte();
        return new(Vector128.Abs(x).AsSingle(), x.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector128<float>> LoadWeights(ref readonly byte group) => new(Vector128.LoadUnsafe(in group).AsSingle(), default);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Accumulate(Vector128<float> acc, VectorPair<Vector128<float>> x, VectorPair<Vector128<float>> w)
    {
        var pairs = Ssse3.MultiplyAddAdjacent(x.First.AsByte(), Ssse3.Sign(w.First.AsSByte(), x.Second.AsSByte()));
        return (acc.AsInt32() + Sse2.MultiplyAddAdjacent(pairs, Vector128.Create((short)1))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToFloat(Vector128<float> acc) => Vector128.ConvertToSingle(acc.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt8(Vector128<float> integral, ref sbyte destination) => Int8DotPortable128.StoreInt8(integral, ref destination);
}

/// <summary>
/// int8, 128 bits through operations every platform has: each 16-bit half of a lane is split into its two bytes,
/// sign-extended (bytes 0 and 2 by a shift left and right by 8, bytes 1 and 3 by a right shift), the products of both
/// added in 16 bits (at most 2·127² &lt; 2¹⁵), then the two halves of each lane in 32.
/// </summary>
internal readonly struct Int8DotPortable128 : IInt8Dot<Vector128<float>>
{
    public static int InputGroupBytes => 4;
    public static bool Scaled => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector128<float>> LoadInput(ref readonly byte group) => Split(Vector128.Create(Unsafe.ReadUnaligned<int>(in group)).AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector128<float>> LoadWeights(ref readonly byte group) => Split(Vector128.LoadUnsafe(in group).AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VectorPair<Vector128<float>> Split(Vector128<short> halves)
        => new(Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(halves, 8), 8).AsSingle(), Vector128.ShiftRightArithmetic(halves, 8).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Accumulate(Vector128<float> acc, VectorPair<Vector128<float>> x, VectorPair<Vector128<float>> w)
    {
        var pairs = (x.First.AsInt16() * w.First.AsInt16() + x.Second.AsInt16() * w.Second.AsInt16()).AsInt32();
        return (acc.AsInt32() + Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(pairs, 16), 16) + Vector128.ShiftRightArithmetic(pairs, 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToFloat(Vector128<float> acc) => Vector128.ConvertToSingle(acc.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt8(Vector128<float> integral, ref sbyte destination)
    {
        var ints = Vector128.ConvertToInt32(integral);
        var shorts = Vector128.Narrow(ints, ints);
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref destination), Vector128.Narrow(shorts, shorts).AsInt32().ToScalar());
    }
}

/// <summary>int8, one column at a time: the four products of a lane in plain integer arithmetic.</summary>
internal readonly struct Int8DotScalar : IInt8Dot<float>
{
    public static int InputGroupBytes => 4;
    public static bool Scaled => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<float> LoadInput(ref readonly byte group) => new(Unsafe.ReadUnaligned<float>(in group), 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<float> LoadWeights(ref readonly byte group) => new(Unsafe.ReadUnaligned<float>(in group), 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Accumulate(float acc, VectorPair<float> x, VectorPair<float> w)
    {
        int a = BitConverter.SingleToInt32Bits(x.First), b = BitConverter.SingleToInt32Bits(w.First);
        int sum = (sbyte)a * (sbyte)b + (sbyte)(a >> 8) * (sbyte)(b >> 8) + (sbyte)(a >> 16) * (sbyte)(b >> 16) + (a >> 24) * (b >> 24);
        return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(acc) + sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(float acc) => BitConverter.SingleToInt32Bits(acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt8(float integral, ref sbyte destination) => destination = (sbyte)(int)integral;
}
