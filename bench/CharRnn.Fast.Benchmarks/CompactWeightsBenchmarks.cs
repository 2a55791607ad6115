using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// Generation's GEMV y[1,G·H] = b + h[1,H]·W_hhᵀ with the weights in f32 (the float GEMV over a row-major B, as the
/// generator runs it today), bf16 and int8 (x prepared, and for int8 quantized, inside each call, as generation would).
/// G = 1 is the vanilla cell's product, G = 4 the LSTM's. From H = 512 on the weights stream from L2/L3 and the ratio to
/// f32 is the point: targets int8 ≥ 2.5× at H = 1024 and ≥ 2× at H = 512, bf16 ≥ 1.6× at H = 1024, none slower at H = 128.
/// </summary>
[MemoryDiagnoser]
public class CompactWeights : PerPolicy
{
    private KernelPolicy _policy = null!;
    private PackedMatrix _f32 = null!;
    private CompactMatrix _bf16 = null!, _int8 = null!;
    private CompactActivations _xBf16 = null!, _xInt8 = null!;
    private float[] _h = null!, _bias = null!, _y = null!;

    [Params(128, 512, 1024)]
    public int Hidden { get; set; }

    [Params(1, 4)]
    public int Gates { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _policy = SelectedPolicy;
        int h = Hidden, n = Gates * Hidden;
        var rng = new Random(7);
        float[] R(int count, double scale) => Uniform(rng, count, scale);
        var w = R(n * h, 1 / Math.Sqrt(h)); // W_hh [G·H, H]
        _h = R(h, 1); // a tanh state
        _bias = R(n, 0.1);
        _y = new float[n];
        _f32 = new PackedMatrix(_policy, h, n, panels: false);
        _f32.PackTransposeOf(w);
        _bf16 = new CompactMatrix(WeightFormat.Bf16, h, n);
        _bf16.PackTransposeOf(w);
        _int8 = new CompactMatrix(WeightFormat.Int8, h, n);
        _int8.PackTransposeOf(w);
        _xBf16 = new CompactActivations(WeightFormat.Bf16, 1, h);
        _xInt8 = new CompactActivations(WeightFormat.Int8, 1, h);
    }

    [Benchmark(Baseline = true, Description = "f32")]
    public void F32() => Gemm.Run<NoEpilogue>(_policy, _y, _bias, StridedMatrix.RowMajor(_h, 1, Hidden), _f32.View(), default);

    [Benchmark(Description = "bf16")]
    public void Bf16()
    {
        _xBf16.Prepare(_policy, _h, 1);
        CompactGemv.Run<NoEpilogue>(_policy, _y, _bias, _xBf16, _bf16);
    }

    [Benchmark(Description = "int8")]
    public void Int8()
    {
        _xInt8.Prepare(_policy, _h, 1);
        CompactGemv.Run<NoEpilogue>(_policy, _y, _bias, _xInt8, _int8);
    }
}
