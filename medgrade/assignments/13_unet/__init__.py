"""13_unet: U-Net: segmentation with skip connections."""
