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
    public void Large_buffers_start_on_a_huge_page_and_go_on_huge_pages_where_linux_has_them()
    {
        const long hugePage = 2L << 20;
        // Linux with transparent huge pages for madvised ranges ("[always]" or "[madvise]", not "[never]")
        const string mode = "/sys/kernel/mm/transparent_hugepage/enabled";
        bool linuxHuge = OperatingSystem.IsLinux() && File.Exists(mode) && !File.ReadAllText(mode).Contains("[never]", StringComparison.Ordinal);
        foreach (long bytes in new[] { AlignedBuffer.HugeMinimum - 4, AlignedBuffer.HugeMinimum, AlignedBuffer.HugeMinimum + 3 * hugePage / 2 })
        {
            var buffer = new AlignedBuffer((int)(bytes / sizeof(float)));
            long start = Address(buffer.Span);
            bool large = bytes >= AlignedBuffer.HugeMinimum;
            Assert.Equal(0, start % (large ? hugePage : AlignedBuffer.Alignment));
            Assert.All(buffer.Span.ToArray(), x => Assert.Equal(0f, x)); // zeros, also where small pages were dropped
            buffer.Span.Fill(1f);
            if (!large || !linuxHuge) continue;
            // the kernel counts huge pages in the mapping that holds the buffer's first page
            long huge = HugePagesKiB(start);
            Assert.True(huge >= hugePage >> 10, $"the mapping at {start:x} holds {huge} KiB of huge pages");
            GC.KeepAlive(buffer);
        }
    }

    /// <summary>AnonHugePages of the /proc/self/smaps mapping that holds <paramref name="address"/>, in KiB.</summary>
    private static long HugePagesKiB(long address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out long from)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber, null, out long to))
                inside = from <= address && address < to;
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        return 0;
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
