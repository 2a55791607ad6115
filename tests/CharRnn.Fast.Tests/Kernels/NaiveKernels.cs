namespace CharRnn.Fast.Tests.Kernels;

/// <summary>The kernels' math as plain double-precision loops: the oracle for the SIMD kernels.</summary>
internal static class NaiveKernels
{
    /// <summary>C[M,N] = f(init + Σ_k A(i,k)·B[k,j]) with A(i,k) = a[i·rs + k·cs]; also returns Σ|terms| per element for tolerances.</summary>
    public static (double[] C, double[] Scale) Gemm(float[]? init, float[] a, int rs, int cs, float[] b, int m, int k, int n, Func<double, int, double> epilogue)
        => Gemm(init, Array.ConvertAll(a, v => (double)v), rs, cs, Array.ConvertAll(b, v => (double)v), m, k, n, epilogue);

    /// <summary>The same with A and B given in double (dequantized weights and activations).</summary>
    public static (double[] C, double[] Scale) Gemm(float[]? init, double[] a, int rs, int cs, double[] b, int m, int k, int n, Func<double, int, double> epilogue)
    {
        var c = new double[m * n];
        var scale = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = init is null ? 0 : init[i * n + j];
                double mag = Math.Abs(acc);
                for (int p = 0; p < k; p++)
                {
                    double term = a[i * rs + p * cs] * b[p * n + j];
                    acc += term;
                    mag += Math.Abs(term);
                }
                c[i * n + j] = epilogue(acc, i * n + j);
                scale[i * n + j] = mag;
            }
        return (c, scale);
    }

    public static double[] Softmax(float[] x, double inverseTemperature, out double logPartition)
    {
        double max = double.NegativeInfinity;
        foreach (var v in x) max = Math.Max(max, v * inverseTemperature);
        double sum = 0;
        var p = new double[x.Length];
        for (int i = 0; i < x.Length; i++) sum += p[i] = Math.Exp(x[i] * inverseTemperature - max);
        for (int i = 0; i < x.Length; i++) p[i] /= sum;
        logPartition = Math.Log(sum) + max;
        return p;
    }
}
