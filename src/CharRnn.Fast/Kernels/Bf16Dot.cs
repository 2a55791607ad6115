using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

// The bf16 product at each width. A lane holds one column's pair of weights (k even in the low half, k odd in the
// high half); each half becomes a float in registers: the low one by a shift left by 16, the high one by clearing the
// low half. Every lane then takes the same two FMAs per group, k even first, at every width: a column's sum is the same
// sequence of roundings on every path, in every tile and every split.

/// <summary>bf16 weights, 512-bit vectors (16 columns).</summary>
internal readonly struct Bf16Dot512 : ICompactDot<Vector512<float>>
{
    public static int InputGroupBytes => 2 * sizeof(float);
    public static bool Scaled => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector512<float>> LoadInput(ref readonly byte group)
        => new(Vector512.Create(Unsafe.ReadUnaligned<float>(in group)), Vector512.Create(Unsafe.ReadUnaligned<float>(in Unsafe.Add(ref Unsafe.AsRef(in group), sizeof(float)))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector512<float>> LoadWeights(ref readonly byte group)
    {
        var pairs = Vector512.LoadUnsafe(in group).AsUInt32();
        return new(Vector512.ShiftLeft(pairs, 16).AsSingle(), (pairs & Vector512.Create(0xFFFF0000u)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Accumulate(Vector512<float> acc, VectorPair<Vector512<float>> x, VectorPair<Vector512<float>> w)
        => Vector512.FusedMultiplyAdd(x.Second, w.Second, Vector512.FusedMultiplyAdd(x.First, w.First, acc));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToFloat(Vector512<float> acc) => acc;
}

/// <summary>bf16 weights, 256-bit vectors (8 columns).</summary>
internal readonly struct Bf16Dot256 : ICompactDot<Vector256<float>>
{
    public static int InputGroupBytes => 2 * sizeof(float);
    public static bool Scaled => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector256<float>> LoadInput(ref readonly byte group)
        => new(Vector256.Create(Unsafe.ReadUnaligned<float>(in group)), Vector256.Create(Unsafe.ReadUnaligned<float>(in Unsafe.Add(ref Unsafe.AsRef(in group), sizeof(float)))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector256<float>> LoadWeights(ref readonly byte group)
    {
        var pairs = Vector256.LoadUnsafe(in group).AsUInt32();
        return new(Vector256.ShiftLeft(pairs, 16).AsSingle(), (pairs & Vector256.Create(0xFFFF0000u)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Accumulate(Vector256<float> acc, VectorPair<Vector256<float>> x, VectorPair<Vector256<float>> w)
        => Vector256.FusedMultiplyAdd(x.Second, w.Second, Vector256.FusedMultiplyAdd(x.First, w.First, acc));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector256<float> acc) => acc;
}

/// <summary>bf16 weights, 128-bit vectors (4 columns; SSE and NEON alike).</summary>
internal readonly struct Bf16Dot128 : ICompactDot<Vector128<float>>
{
    public static int InputGroupBytes => 2 * sizeof(float);
    public static bool Scaled => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector128<float>> LoadInput(ref readonly byte group)
        => new(Vector128.Create(Unsafe.ReadUnaligned<float>(in group)), Vector128.Create(Unsafe.ReadUnaligned<float>(in Unsafe.Add(ref Unsafe.AsRef(in group), sizeof(float)))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<Vector128<float>> LoadWeights(ref readonly byte group)
    {
        var pairs = Vector128.LoadUnsafe(in group).AsUInt32();
        return new(Vector128.ShiftLeft(pairs, 16).AsSingle(), (pairs & Vector128.Create(0xFFFF0000u)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Accumulate(Vector128<float> acc, VectorPair<Vector128<float>> x, VectorPair<Vector128<float>> w)
        => Simd128.MultiplyAdd(x.Second, w.Second, Simd128.MultiplyAdd(x.First, w.First, acc));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToFloat(Vector128<float> acc) => acc;
}

/// <summary>bf16 weights, one column at a time.</summary>
internal readonly struct Bf16DotScalar : ICompactDot<float>
{
    public static int InputGroupBytes => 2 * sizeof(float);
    public static bool Scaled => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<float> LoadInput(ref readonly byte group)
        => new(Unsafe.ReadUnaligned<float>(in group), Unsafe.ReadUnaligned<float>(in Unsafe.Add(ref Unsafe.AsRef(in group), sizeof(float))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorPair<float> LoadWeights(ref readonly byte group)
    {
        uint pair = Unsafe.ReadUnaligned<uint>(in group);
        return new(BitConverter.UInt32BitsToSingle(pair << 16), BitConverter.UInt32BitsToSingle(pair & 0xFFFF0000u));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Accumulate(float acc, VectorPair<float> x, VectorPair<float> w)
        => SimdScalar.MultiplyAdd(x.Second, w.Second, SimdScalar.MultiplyAdd(x.First, w.First, acc));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(float acc) => acc;
}
