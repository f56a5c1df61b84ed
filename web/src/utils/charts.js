// ECharts with only the parts the console uses (keeps the bundle small). Register more chart
// types here when a dashboard needs them.
import * as echarts from 'echarts/core'
import { BarChart, LineChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent, DatasetComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, DatasetComponent, CanvasRenderer])

export { echarts }

export const palette = ['#1f6feb', '#f56c6c', '#67c23a', '#e6a23c', '#909399', '#8e6cf0', '#36b3c2']
