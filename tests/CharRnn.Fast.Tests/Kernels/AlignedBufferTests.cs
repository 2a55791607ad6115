using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using Xunit;

namespace CharRnn.Fast.Tests.Kernels;

public class AlignedBufferTests
{
    private static long Address(Span<float> span) => (long)Unsafe.ByteOffset(ref Unsafe.NullRef<float>(), ref MemoryMarshal.GetReference(span));

    [Fact]
    public void Buffers_start_on_a_cache_line_are_zeroed_and_bounded()
    {
        for (int length = 0; length < 200; length++)
        {
            var buffer = new AlignedBuffer(length);
            Assert.Equal(length, buffer.Span.Length);
            if (length > 0) Assert.Equal(0, Address(buffer.Span) % AlignedBuffer.Alignment);
            Assert.All(buffer.Span.ToArray(), x => Assert.Equal(0f, x));
            buffer.Span.Fill(1f); // the whole span is writable storage
            Assert.Equal(length, buffer.AsSpan(0, length).Length);
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.AsSpan(1, length));
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.AsSpan(length + 1, 0));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer(-1));
    }

    [Fact]
    public void Parameter_matrices_start_on_cache_lines_when_h_is_a_multiple_of_16()
    {
        var p = new RnnParameters(new RnnShape(65, 128, 65));
        Assert.Equal(0, Address(p.WxhT) % AlignedBuffer.Alignment);
        Assert.Equal(0, Address(p.Whh) % AlignedBuffer.Alignment);
        Assert.Equal(0, Address(p.Bh) % AlignedBuffer.Alignment);
        Assert.Equal(0, Address(p.Why) % AlignedBuffer.Alignment);
        Assert.Equal(0, Address(p.By) % AlignedBuffer.Alignment);
    }
}
