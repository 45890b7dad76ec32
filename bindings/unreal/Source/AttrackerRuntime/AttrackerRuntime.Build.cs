// The runtime module: UAttrackerSubsystem over the C library (module "Attracker").

using UnrealBuildTool;

public class AttrackerRuntime : ModuleRules
{
	public AttrackerRuntime(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		PrivateDependencyModuleNames.Add("Attracker");
		// FHttpModule: the host transport (Private/AttrackerHttpTransport.cpp).
		PrivateDependencyModuleNames.Add("HTTP");
	}
}
