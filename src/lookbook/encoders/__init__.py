"""Content encoders: images, texts and attributes into one L2-normalised content vector per item.

* ``Encoder`` (base): batching, the content-hash feature cache, normalising and checks; subclasses
  write ``_encode_batch``. ``ImageEncoder`` (EfficientNet-Lite0, 1280-d), ``TextEncoder``
  (all-MiniLM-L6-v2, 384-d) and the optional ``OpenClipEncoder`` (FashionCLIP and friends).
* ``FusedContentEncoder``: learned image and text projections aligned by InfoNCE, plus hashed
  attributes: the content space every later model starts from, and the cold-start path.
* ``encode_items``: an items table in, ``ContentFeatures`` out.

torch and the model packages are imported inside the classes that need them, so importing this
package is cheap.
"""

from lookbook.encoders.base import Encoder, EncodeStats, content_digest, l2_normalize
from lookbook.encoders.cache import FeatureCache
from lookbook.encoders.clip import OpenClipEncoder, open_clip_available
from lookbook.encoders.content import (
    ContentFeatures,
    encode_items,
    item_attribute_tokens,
    item_image_paths,
    item_texts,
)
from lookbook.encoders.fused import FusedContentEncoder, FusionConfig, attribute_tokens, hash_tokens
from lookbook.encoders.image import ImageEncoder, ImageEncoderConfig, preprocess_image
from lookbook.encoders.text import TextEncoder, TextEncoderConfig, item_text

__all__ = [
    "ContentFeatures",
    "EncodeStats",
    "Encoder",
    "FeatureCache",
    "FusedContentEncoder",
    "FusionConfig",
    "ImageEncoder",
    "ImageEncoderConfig",
    "OpenClipEncoder",
    "TextEncoder",
    "TextEncoderConfig",
    "attribute_tokens",
    "content_digest",
    "encode_items",
    "hash_tokens",
    "item_attribute_tokens",
    "item_image_paths",
    "item_text",
    "item_texts",
    "l2_normalize",
    "open_clip_available",
    "preprocess_image",
]
