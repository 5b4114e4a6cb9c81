from llava_mm.utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    'ImageCaptionInferencer': '.image_caption',
    'LlavaChat': '.chat',
    'LlavaInferencer': '.base_inferencer',
    'LoadOptions': '.load_options',
    'VisualQuestionAnsweringInferencer': '.vqa',
    'get_model': '.inference',
    'inference_model': '.inference',
    'init_model': '.inference',
    'list_models': '.model_index',
})
