"""faceswap extract: detect, align and crop faces from videos and images into a faceset."""
