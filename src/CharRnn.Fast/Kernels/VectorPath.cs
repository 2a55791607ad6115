namespace CharRnn.Fast.Kernels;

/// <summary>The instruction-set paths the kernels can run on; the value is the vector width in bits (0 = scalar).</summary>
public enum VectorPath
{
    Scalar = 0,
    V128 = 128,
    V256 = 256,
    V512 = 512,
}
