// The attracker C library as an Unreal ThirdParty (External) module: nothing is
// compiled here, the module only hands the header and the prebuilt library to
// the modules that depend on it (AttrackerRuntime).
//
// Expected layout (copy from an attracker build; see bindings/unreal/README.md):
//
//   Attracker/include/at_tracker.h
//   Attracker/lib/Linux/x86_64-unknown-linux-gnu/libattracker.a
//   Attracker/lib/Android/arm64-v8a/libattracker.a   (and x86_64/)
//   Attracker/lib/IOS/libattracker.a
//   Attracker/lib/Mac/libattracker.a                 (universal: lipo arm64 + x86_64)
//   Attracker/lib/Win64/attracker.lib                (the staticlib; attracker.dll for a shared build)
//
// The native libraries each static library needs are what
//   cargo rustc --release --lib --crate-type staticlib --target <triple> -- --print native-static-libs
// prints for that target; the lists below follow it (Linux, measured:
// -lcurl -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc). Re-check after changing
// the library's dependencies.

using System.IO;
using UnrealBuildTool;

public class Attracker : ModuleRules
{
	// Link libattracker as a shared library (.dll / .so staged beside the
	// executable) instead of the static one. Static is the default: one binary,
	// and the only option on iOS.
	private static readonly bool bUseSharedLibrary = false;

	public Attracker(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		string IncludeDir = Path.Combine(ModuleDirectory, "include");
		string LibDir = Path.Combine(ModuleDirectory, "lib");
		PublicIncludePaths.Add(IncludeDir);
		PublicDefinitions.Add("WITH_ATTRACKER=1");

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			string Win64 = Path.Combine(LibDir, "Win64");
			if (bUseSharedLibrary)
			{
				// attracker.lib is then the import library of attracker.dll.
				PublicAdditionalLibraries.Add(Path.Combine(Win64, "attracker.dll.lib"));
				PublicDelayLoadDLLs.Add("attracker.dll");
				RuntimeDependencies.Add("$(TargetOutputDir)/attracker.dll", Path.Combine(Win64, "attracker.dll"));
			}
			else
			{
				PublicAdditionalLibraries.Add(Path.Combine(Win64, "attracker.lib"));
				// Rust's std on MSVC, plus libcurl built with Schannel (curl-sys
				// builds its own libcurl on Windows).
				PublicSystemLibraries.AddRange(new string[] {
					"kernel32.lib", "advapi32.lib", "ntdll.lib", "userenv.lib", "ws2_32.lib",
					"bcrypt.lib", "crypt32.lib", "secur32.lib", "normaliz.lib", "wldap32.lib",
				});
			}
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			string Linux = Path.Combine(LibDir, "Linux", "x86_64-unknown-linux-gnu");
			if (bUseSharedLibrary)
			{
				// The cdylib must carry a SONAME (-C link-arg=-Wl,-soname,libattracker.so),
				// otherwise the executable records this absolute path.
				PublicAdditionalLibraries.Add(Path.Combine(Linux, "libattracker.so"));
				RuntimeDependencies.Add("$(TargetOutputDir)/libattracker.so", Path.Combine(Linux, "libattracker.so"));
			}
			else
			{
				PublicAdditionalLibraries.Add(Path.Combine(Linux, "libattracker.a"));
				PublicSystemLibraries.AddRange(new string[] { "pthread", "dl", "m", "rt", "util", "gcc_s" });
			}
			// The engine's libcurl resolves the library's curl_* symbols.
			AddEngineThirdPartyPrivateStaticDependencies(Target, "libcurl", "OpenSSL", "nghttp2", "zlib");
		}
		else if (Target.Platform == UnrealTargetPlatform.Android)
		{
			// UnrealBuildTool links only the library whose path names the
			// architecture being built (arm64-v8a, x86_64).
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Android", "arm64-v8a", "libattracker.a"));
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Android", "x86_64", "libattracker.a"));
			PublicSystemLibraries.AddRange(new string[] { "log", "dl", "m" });
			AddEngineThirdPartyPrivateStaticDependencies(Target, "libcurl", "OpenSSL", "nghttp2", "zlib");
		}
		else if (Target.Platform == UnrealTargetPlatform.IOS)
		{
			// No system libcurl on iOS: libattracker.a must be built with curl
			// linked in statically (curl-sys "static-curl"), or the host must
			// send through at_config_set_transport (NSURLSession).
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "IOS", "libattracker.a"));
			PublicSystemLibraries.AddRange(new string[] { "z", "resolv" });
			PublicFrameworks.AddRange(new string[] { "Security", "SystemConfiguration", "CFNetwork" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Mac", "libattracker.a"));
			PublicSystemLibraries.AddRange(new string[] { "curl", "z", "resolv" }); // macOS ships libcurl
			PublicFrameworks.AddRange(new string[] { "Security", "SystemConfiguration", "CoreFoundation" });
		}
	}
}
