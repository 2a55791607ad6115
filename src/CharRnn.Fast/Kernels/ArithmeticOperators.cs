using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Kernels;

/// <summary>out = a + b.   Operands: (out, a, b).</summary>
internal readonly struct SumOperator : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float output, ref float a, ref float b, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(TS.Add(TS.Load(in a), TS.Load(in b)), ref output);
}

/// <summary>y += x.   Operands: (y, x).</summary>
internal readonly struct AddOperator : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float y, ref float x, ref float unused2, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(TS.Add(TS.Load(in y), TS.Load(in x)), ref y);
}

/// <summary>y += x and z += x.   Operands: (y, z, x).</summary>
internal readonly struct AddToBothOperator : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float y, ref float z, ref float x, ref float unused3) where TS : ISimd<TV> where TV : struct
    {
        TV v = TS.Load(in x);
        TS.Store(TS.Add(TS.Load(in y), v), ref y);
        TS.Store(TS.Add(TS.Load(in z), v), ref z);
    }
}

/// <summary>out = a ⊙ b.   Operands: (out, a, b).</summary>
internal readonly struct ProductOperator : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float output, ref float a, ref float b, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(TS.Multiply(TS.Load(in a), TS.Load(in b)), ref output);
}

/// <summary>y ⊙= x.   Operands: (y, x).</summary>
internal readonly struct MultiplyOperator : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float y, ref float x, ref float unused2, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(TS.Multiply(TS.Load(in y), TS.Load(in x)), ref y);
}
