"""17_tracking: Detection vs tracking: following lesions through frames."""
