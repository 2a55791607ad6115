using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Kernels;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// The three products of one LSTM chunk (B = 32 streams, T = 25 steps, G·H = 4H gate rows) as the training step runs
/// them: per step the gate product h_{t−1}·W_hhᵀ into the gates, per step the backward dh_t += dgates_{t+1}·W_hh, and
/// once the weight gradient dW_hh = dgatesᵀ·h over K = T·B. Each does 2·T·B·4H·H flops. At H = 512 W_hh is 4 MiB,
/// more than any L2 here, so the first two re-read it from L3 at every step (the GEMM prefetches its panels).
/// </summary>
[MemoryDiagnoser]
public class GateGemms : PerPolicy
{
    private const int B = 32, T = Workload.SequenceLength, Gates = 4;
    private KernelPolicy _policy = null!;
    private PackedMatrix _whhT = null!, _whh = null!, _prev = null!;
    private float[] _hs = null!, _gates = null!, _dGates = null!, _dh = null!, _dW = null!;

    [Params(128, 512)]
    public int Hidden { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _policy = SelectedPolicy;
        var rng = new Random(3);
        float[] R(int n) => Uniform(rng, n);
        int h = Hidden, gh = Gates * h;
        var w = R(gh * h);
        _whhT = new PackedMatrix(_policy, h, gh);
        _whhT.PackTransposeOf(w);
        _whh = new PackedMatrix(_policy, gh, h);
        _whh.Pack(w);
        _hs = R((T + 1) * B * h);
        _prev = new PackedMatrix(_policy, T * B, h);
        _prev.Pack(_hs.AsSpan(0, T * B * h), T * B);
        _gates = R(T * B * gh); _dGates = R(T * B * gh); _dh = R(T * B * h); _dW = R(gh * h);
    }

    [Benchmark(Description = "gates_t = init + h_{t−1}·W_hhᵀ, T steps")]
    public void Forward()
    {
        int h = Hidden, gh = Gates * h;
        for (int t = 0; t < T; t++)
        {
            var g = _gates.AsSpan(t * B * gh, B * gh);
            Gemm.Run<NoEpilogue>(_policy, g, g, StridedMatrix.RowMajor(_hs.AsSpan(t * B * h, B * h), B, h), _whhT.View(), default);
        }
    }

    [Benchmark(Description = "dh_t += dgates_{t+1}·W_hh, T steps")]
    public void Backward()
    {
        int h = Hidden, gh = Gates * h;
        for (int t = 0; t < T; t++)
        {
            var d = _dh.AsSpan(t * B * h, B * h);
            Gemm.Run<NoEpilogue>(_policy, d, d, StridedMatrix.RowMajor(_dGates.AsSpan(t * B * gh, B * gh), B, gh), _whh.View(), default);
        }
    }

    [Benchmark(Description = "dW_hh = dgatesᵀ·h (K = T·B)")]
    public void WeightGradient() => Gemm.MultiplyTransposedA(_policy, _dW, _dGates, _prev.View(0, T * B), Gates * Hidden);
}
