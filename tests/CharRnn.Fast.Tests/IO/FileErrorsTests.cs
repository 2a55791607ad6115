using CharRnn.Fast.IO;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

public sealed class FileErrorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-fe-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Exception Failure(Action read) => Assert.IsAssignableFrom<Exception>(Record.Exception(read));

    [Fact]
    public void Reasons_leave_the_path_out()
    {
        string missing = Path.Combine(_dir, "missing.bin"), inMissingDir = Path.Combine(_dir, "no", "x.bin");
        Assert.Equal("no such file", FileErrors.Reason(Failure(() => File.ReadAllBytes(missing)), missing));
        Assert.Equal("no such directory", FileErrors.Reason(Failure(() => File.ReadAllBytes(inMissingDir)), inMissingDir));
        Assert.Equal("it is a directory", FileErrors.Reason(Failure(() => File.ReadAllBytes(_dir)), _dir));
        // an errno without its own exception type: .NET appends " : '<path>'" to strerror
        Assert.Equal("input/output error", FileErrors.Reason(new IOException($"Input/output error : '{missing}'"), missing));
        Assert.Equal("no space left on device", FileErrors.Reason(new IOException("No space left on device"), missing));
    }
}
